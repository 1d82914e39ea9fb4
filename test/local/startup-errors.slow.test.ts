// `npm start` says why the stack cannot start as soon as the cause is certain, not when the
// health-check grace period (30 s here) runs out, naming the cause: a service that
// throws while loading (it exits before it ever listens: its last output says why), an
// invalid --log-level (checked before anything starts), a health-check path the service does
// not serve (the path and the status it got). Each runs `npm start` as a user would, on a
// fixture workspace (--root). And once running, a replacement that keeps crashing is
// reported as a crash loop, with its output, and restarted at growing intervals, not spun.
// Judged by what is reported and in what order, never by how long it took: the figures are
// printed, and docs/reliability.md keeps them.
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
  type StackLog,
  stackLog,
} from '../reliability/helpers.ts';
import { npmStart, processGone } from './helpers.ts';

/** What the stack says when it gave up at the end of the grace period instead. */
const GRACE_REPORT = /did not become healthy within/;
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
  // The cause, as soon as it was certain: not the grace period's report.
  expect(output).not.toMatch(GRACE_REPORT);
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
  }, 20_000);

  it('an invalid --log-level, before anything starts', async () => {
    const result = await failedStart(['--log-level', 'verbose']);
    expect(result.code).toBe(2);
    expect(result.output).toMatch(
      /--log-level "verbose" is not one of debug, info, warn, error, silent/,
    );
    expect(result.pids).toEqual([]);
  }, 20_000);

  it('two listeners given one port, before anything starts', async () => {
    // Any port: nothing listens before the check refuses the pair.
    const result = await failedStart(['--alb-port', '18081', '--console-port', '18081']);
    expect(result.code).toBe(2);
    expect(result.output).toMatch(
      /--alb-port and --console-port are both port 18081: change one \(0 picks a free port\)/,
    );
    expect(result.pids).toEqual([]);
  }, 20_000);

  it('--jwt with an issuer of its own, before anything starts', async () => {
    const issuer = 'https://issuer.example';
    const result = await failedStart(['--jwt', '--parameter', `JwtIssuer=${issuer}`]);
    expect(result.code).toBe(2);
    expect(result.output).toContain(
      `--jwt starts a local issuer and sets JwtIssuer to it, and --parameter JwtIssuer=${issuer} names another: pass one of them`,
    );
    expect(result.pids).toEqual([]);
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
    } finally {
      writeFileSync(manifest, original);
    }
  }, 20_000);
});

/** The stack's crash-loop reports: how many tasks in a row failed, and the delay it chose. */
function loopReports(log: StackLog): { at: number; crashes: number; delayMs: number }[] {
  return log.lines.flatMap((l) => {
    const m = /crash loop, (\d+) tasks in a row .* next task in ([\d.]+) s/.exec(l.line);
    return m ? [{ at: l.at, crashes: Number(m[1]), delayMs: Number(m[2]) * 1000 }] : [];
  });
}

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
      // Let it loop until four tasks in a row have failed: the count, not a time.
      await waitFor('four crashes in a row', () => loopReports(log).some((r) => r.crashes >= 4));
      const reported = (log.when('crash loop', killedAt) as number) - killedAt;
      const text = log.lines.map((l) => l.line).join('\n');
      expect(text).toMatch(/exited \(code 1\) before it listened/);
      expect(text).toMatch(
        /its last output:\n(.*\n)*.*\| .*thrown while loading, before listening/,
      );
      const reports = loopReports(log);
      rmSync(flag);
      await waitFor('the replacement to serve', () => replica.healthy);
      console.log(
        `crash loop: reported ${reported.toFixed(0)} ms after the first crash; next tasks after ${reports.map((r) => `${r.delayMs} ms`).join(', ')}`,
      );
      // Reported from the second crash in a row, each report one more, the delay doubling from
      // 250 ms (scheduler.ts); and no task started before its delay had passed.
      expect(reports.map((r) => r.crashes).slice(0, 3)).toEqual([2, 3, 4]);
      expect(reports.map((r) => r.delayMs).slice(0, 3)).toEqual([250, 500, 1_000]);
      for (const r of reports) {
        const next = log.lines.find((l) => l.at > r.at && /started: pid/.test(l.line));
        if (next) expect(next.at - r.at).toBeGreaterThanOrEqual(r.delayMs - 1);
      }
    } finally {
      rmSync(flag, { force: true });
      await stack.stop();
    }
  }, 30_000);
});
