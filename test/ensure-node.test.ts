// npm ci's postinstall: the line it prints, and when it stops the install.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkNode } from '../scripts/ensure-node.mjs';
import { repoRoot } from '../scripts/workspace/manifests.ts';

const pinned = `v${JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).devDependencies.node}`;

describe('npm ci brings the Node the project pins', () => {
  it('runs the tests on the pinned Node, whatever Node runs npm', () => {
    expect(process.version).toBe(pinned);
  });

  it('is silent when the machine already has a Node that runs the project', () => {
    expect(checkNode({ running: pinned, machine: 'v22.18.0', pinned })).toBeUndefined();
    expect(checkNode({ running: pinned, machine: undefined, pinned })).toBeUndefined();
  });

  it('says once that an old machine Node only runs npm, and its EBADENGINE warnings are moot', () => {
    const verdict = checkNode({ running: pinned, machine: 'v22.17.9', pinned });
    expect(verdict?.level).toBe('info');
    expect(verdict?.text).toMatch(/this machine's Node is v22\.17\.9.*use the project's Node/);
  });

  it('stops npm ci, naming the next step, when the pinned Node is missing and the machine one is too old', () => {
    const verdict = checkNode({ running: 'v20.20.2', machine: 'v20.20.2', pinned });
    expect(verdict?.level).toBe('error');
    expect(verdict?.text).toMatch(/too old for the project; install Node 24 LTS/);
  });

  it('only warns when the pinned Node is missing but the machine one runs the project', () => {
    const verdict = checkNode({ running: 'v24.1.0', machine: 'v24.1.0', pinned });
    expect(verdict?.level).toBe('warn');
  });

  it('reads the machine Node from npm user agent when run as the postinstall', () => {
    const run = spawnSync(process.execPath, ['scripts/ensure-node.mjs'], {
      cwd: repoRoot,
      env: { ...process.env, npm_config_user_agent: 'npm/11.19.1 node/v20.20.2 linux x64' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/^npm ci: this machine's Node is v20\.20\.2;/);
  });
});

describe('one Node version', () => {
  it('.node-version (for nvm, fnm, setup-node) names the pinned major', () => {
    const major = pinned.slice(1).split('.')[0];
    expect(readFileSync(path.join(repoRoot, '.node-version'), 'utf8').trim()).toBe(major);
  });
});
