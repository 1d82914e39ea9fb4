// Calling the fake copilot directly, as a script would: the executable, stdin closed, moto_server
// as AWS, from a workspace directory. Shared by the tests of the fake and of diagnose on moto.
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { FAKE_BIN, type FakeCopilot, fakeCopilot, type Moto } from './harness.ts';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export type FakeRun = (
  args: string[],
  extra?: Record<string, string>,
  cwd?: string,
) => Promise<Run>;

/** Expects success, showing the fake's stderr when it failed. */
export async function ok(pending: Promise<Run>): Promise<Run> {
  const r = await pending;
  expect(r.code, r.stderr).toBe(0);
  return r;
}

/** A fake with its own state; `run` calls it from `cwd` (default: `root`). */
export function fakeRunner(moto: Moto, root: string): { fake: FakeCopilot; run: FakeRun } {
  const fake = fakeCopilot();
  const env = {
    PATH: `${FAKE_BIN}${path.delimiter}${path.dirname(process.execPath)}`,
    HOME: os.tmpdir(),
    AWS_CONFIG_FILE: '/nonexistent/config',
    ...moto.env,
    ...fake.env,
  };
  const run: FakeRun = (args, extra = {}, cwd = root) =>
    new Promise((resolve) => {
      execFile(
        path.join(FAKE_BIN, 'copilot'),
        args,
        { cwd, env: { ...env, ...extra } },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });
  return { fake, run };
}

const ws = loadWorkspace();

/** app init, env init + deploy, svc init of every service; with `deploy`, svc deploy too. */
export async function initialise(run: FakeRun, options: { deploy?: boolean } = {}) {
  const app = ws.application;
  const env = ws.environments[0]?.name ?? 'test';
  await ok(run(['app', 'init', app]));
  await ok(run(['env', 'init', '--name', env, '--app', app, '--default-config']));
  await ok(run(['env', 'deploy', '--name', env, '--app', app]));
  for (const s of ws.services) await ok(run(['svc', 'init', '--name', s.name, '--app', app]));
  if (!options.deploy) return;
  for (const s of ws.services) {
    await ok(run(['svc', 'deploy', '--name', s.name, '--env', env, '--app', app]));
  }
}
