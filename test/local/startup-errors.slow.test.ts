// `npm start` says why the stack cannot start, within 3 s, naming the cause: a service that
// throws while loading (it exits before it ever listens: its last output says why), an
// invalid --log-level (checked before anything starts), a health-check path the service does
// not serve (the path and the status it got). Each runs `npm start` as a user would, on a
// fixture workspace (--root). And once running, a replacement that keeps crashing is
// reported as a crash loop, with its output, and restarted at growing intervals, not spun.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalStack } from '../../scripts/local/index.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { waitFor } from '../helpers/wait.ts';
import {
  FIXTURE_PATH,
  FIXTURE_SERVICE,
  fixtureWorkspace,
  stackLog,
  startedPids,
} from '../reliability/helpers.ts';
import { npmStart, processGone } from './helpers.ts';

const REPORTED_WITHIN_MS = 3_000;
const fixture = fixtureWorkspace({ realServices: false });
afterAll(() => fixture.remove());
const service = loadWorkspace(fixture.root).services.find((s) => s.name === FIXTURE_SERVICE);
if (!service) throw new Error('the fixture workspace lacks its service');

/** `npm start` on the fixture; resolves once it has exited. */
async function failedStart(extra: string[], env: Record<string, string> = {}) {
  const run = npmStart(['--root', fixture.root, '--port', '0', ...extra], env);
  const exit = await run.exited;
  const output = run.output();
  console.log(`npm start exited with ${exit.code} after ${exit.ms.toFixed(0)} ms`);
  // Nothing it started is left running.
  const pids = [...output.matchAll(/started: pid (\d+)/g)].map((m) => Number(m[1]));
  expect(pids.filter((pid) => !processGone(pid))).toEqual([]);
  return { ...exit, output, pids };
}

describe('npm start reports a stack that cannot start', () => {
  it('a service that throws while loading: its exit and its last output', async () => {
    const result = await failedStart([], { FIXTURE_MODE: 'throw-at-import' });
    expect(result.code).toBe(1);
    expect(result.output).toMatch(
      new RegExp(`${FIXTURE_SERVICE}/\\d exited \\(code 1\\) before it listened on port \\d+`),
    );
    expect(result.output).toMatch(/\| .*fixture-service: thrown while loading, before listening/);
    expect(result.ms).toBeLessThan(REPORTED_WITHIN_MS);
  }, 20_000);

  it('an invalid --log-level, before anything starts', async () => {
    const result = await failedStart(['--log-level', 'verbose']);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(
      /--log-level "verbose" is not one of debug, info, warn, error, silent/,
    );
    expect(result.pids).toEqual([]);
    expect(result.ms).toBeLessThan(REPORTED_WITHIN_MS);
  }, 20_000);

  it('a health-check path the service does not serve: the path and the status', async () => {
    const manifest = path.join(fixture.root, service.manifestFile);
    const original = readFileSync(manifest, 'utf8');
    const wrong = `${FIXTURE_PATH}/healthz`;
    writeFileSync(manifest, original.replace(`path: ${FIXTURE_PATH}/health\n`, `path: ${wrong}\n`));
    try {
      const result = await failedStart([]);
      expect(result.code).toBe(1);
      expect(result.output).toContain(
        `fails its health check: GET ${wrong} answered 404 (success codes: 200)`,
      );
      expect(result.output).toContain(`copilot/${FIXTURE_SERVICE}/manifest.yml (http.healthcheck)`);
      expect(result.ms).toBeLessThan(REPORTED_WITHIN_MS);
    } finally {
      writeFileSync(manifest, original);
    }
  }, 20_000);
});

describe('a crash loop once running', () => {
  it('is reported with the output, restarted at growing intervals, and ends when fixed', async () => {
    const flag = path.join(os.tmpdir(), `crash-loop-${process.pid}`);
    const log = stackLog();
    const stack = await startLocalStack({
      root: fixture.root,
      apiPort: 0,
      healthCheckScale: 0.1,
      replicaOutput: 'ignore',
      log: log.log,
      env: { FIXTURE_THROW_IF_EXISTS: flag },
    });
    try {
      const replica = stack.services[0]?.replicas[0];
      if (!replica?.pid) throw new Error('no fixture replica');
      writeFileSync(flag, '');
      const killedAt = performance.now();
      process.kill(replica.pid, 'SIGKILL');
      await waitFor(
        'the crash loop to be reported',
        () => log.when('crash loop', killedAt) !== undefined,
        5_000,
      );
      const reported = (log.when('crash loop', killedAt) as number) - killedAt;
      const text = log.lines.map((l) => l.line).join('\n');
      expect(text).toMatch(/exited \(code 1\) before it listened/);
      expect(text).toMatch(
        /its last output:\n(.*\n)*.*\| .*thrown while loading, before listening/,
      );
      // Let it loop a while: the delays grow, so few tasks are started.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const tasks = startedPids(log).length;
      rmSync(flag);
      await waitFor('the replacement to serve', () => replica.healthy, 10_000);
      console.log(
        `crash loop: reported ${reported.toFixed(0)} ms after the first crash; ${tasks} tasks started in all over ~2.5 s`,
      );
      expect(reported).toBeLessThan(REPORTED_WITHIN_MS);
      // Two at the start, the kill's replacement, then 0.25 s, 0.5 s, 1 s... apart: a handful.
      expect(tasks).toBeLessThanOrEqual(8);
    } finally {
      rmSync(flag, { force: true });
      await stack.stop();
    }
  }, 30_000);
});
