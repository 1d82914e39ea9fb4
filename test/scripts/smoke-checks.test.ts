// The smoke checks' judgements, run in this process so mutation testing sees which test covers
// which line (smoke.slow.test.ts runs smoke.ts as a user does, against the local stack): runSmoke's
// results and log lines, drift from the OpenAPI document, the JWT sent to the API only, the wait
// for health, refused connections; the bastion's curl script run with bash; the SSM request;
// checks added to a report; the evaluation of single answers. The services answer through
// their own apps behind a small in-process stand-in for the API and the ALB, built in each test.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
import {
  type BodyExpectation,
  bastionCommandInput,
  bastionScript,
  checkResult,
  evaluate,
  joinUrl,
  latencySummary,
  runOnBastion,
  runSmoke,
  smokeChecks,
  withApiChecks,
} from '../../scripts/checks/smoke-checks.ts';
import { createProgress } from '../../scripts/cli/command.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { servicesBehind } from '../helpers/services-behind.ts';

const ws = loadWorkspace();
const ALB_HOST = 'alb.internal';

/** The API and the ALB stand-ins, closed after `use`. */
async function withStandIns(use: (targets: { api: string; alb: string }) => Promise<void>) {
  const api = await servicesBehind();
  const alb = await servicesBehind(ALB_HOST);
  try {
    await use({ api: api.url, alb: alb.url });
  } finally {
    await api.close();
    await alb.close();
  }
}

/** Runs a script with bash; its exit code and stdout. */
const bash = (script: string) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    const child = execFile('bash', ['-s'], { timeout: 30_000 }, (error, stdout) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, out: String(stdout) }),
    );
    child.stdin?.end(script);
  });

/** A server answering `answer(path, headers)`; `requests` holds what it was asked. */
async function fakeServer(
  answer: (req: http.IncomingMessage) => { status: number; body: string; type?: string },
) {
  const requests: {
    method: string;
    accept: string;
    path: string;
    host: string;
    authorization?: string;
  }[] = [];
  const server = http.createServer((req, res) => {
    requests.push({
      method: req.method ?? '',
      accept: req.headers.accept ?? '',
      path: req.url ?? '',
      host: req.headers.host ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    const { status, body, type = 'application/json' } = answer(req);
    res.writeHead(status, { 'content-type': type }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** runSmoke with its log captured, the defaults the script uses otherwise. */
async function smokeInProcess(options: Partial<Parameters<typeof runSmoke>[0]>) {
  const lines: string[] = [];
  const report = await runSmoke({
    services: ws.services,
    targets: {},
    timeoutMs: 5_000,
    samples: 0,
    backoff: { initialDelayMs: 5, maxDelayMs: 20 },
    log: createProgress('smoke', (line) => lines.push(line.trimEnd())),
    ...options,
  });
  return { report, lines };
}

describe('runSmoke, in process', { timeout: 60_000 }, () => {
  it('passes every check on the services through the API and the ALB, and samples each list', async () => {
    await withStandIns(async (targets) => {
      const run = await smokeInProcess({ targets, albHost: ALB_HOST, samples: 2 });
      const checks = smokeChecks({ services: ws.services, targets, albHost: ALB_HOST });
      expect(run.report.passed).toBe(true);
      expect(run.report.targets).toEqual(targets);
      expect(run.report.checks.map((c) => [c.name, c.url])).toEqual(
        checks.map((c) => [c.name, joinUrl(targets[c.target], c.path)]),
      );
      expect(run.report.checks.filter((c) => !c.ok || c.problems.length > 0)).toEqual([]);
      const lists = checks.filter((c) => c.body?.kind === 'array').length;
      expect(lists).toBe(ws.services.length * 2);
      expect(run.report.latency.count).toBe(checks.length + 2 * lists);
      expect(run.lines.filter((l) => / ok .+ \(\d+ ms\)$/.test(l))).toHaveLength(checks.length);
    });
  });

  it('names each wrong answer, its reasons and the URL asked', async () => {
    const books = ws.services.find((s) => s.name === 'book-service');
    const five = JSON.stringify([1, 2, 3, 4, 5].map((id) => ({ id })));
    const server = await fakeServer((req) =>
      req.url === books?.pathPrefix
        ? { status: 200, body: five }
        : { status: 200, body: '{"id":1,"status":"ok"}' },
    );
    try {
      const { report, lines } = await smokeInProcess({ targets: { api: server.url } });
      expect(report.passed).toBe(false);
      const list = report.checks.find((c) => c.name === 'book-service: list has 6 items');
      // The check's own judgement first, then what the service's document says of the body.
      expect(list).toMatchObject({ ok: false, status: 200, url: `${server.url}/api/books` });
      expect(list?.problems[0]).toBe('list has 5 items, expected 6');
      expect(list?.problems[1]).toMatch(/^GET \/api\/books 200 body: /);
      expect(lines.find((l) => l.includes('book-service: list has 6 items'))).toMatch(
        /^\[smoke\] FAIL book-service: list has 6 items: list has 5 items, expected 6; GET /,
      );
      expect(lines).toContain(
        `[smoke] FAIL api: unknown route is API Gateway 404: status 200, expected 404 (body: {"id":1,"status":"ok"}) [GET ${server.url}/smoke-test/no-such-route]`,
      );
      expect(report.checks.find((c) => c.name === 'book-service: get one')?.ok).toBe(false);
    } finally {
      await server.close();
    }
  });

  it("fails an answer that drifts from the service's OpenAPI document, naming the field", async () => {
    // Six items, as many as expected, but not the shape book-service's document gives a book.
    const six = JSON.stringify([1, 2, 3, 4, 5, 6].map((id) => ({ id, title: `book ${id}` })));
    const server = await fakeServer(() => ({ status: 200, body: six }));
    try {
      const { report } = await smokeInProcess({ targets: { api: server.url } });
      const list = report.checks.find((c) => c.name === 'book-service: list has 6 items');
      expect(list?.ok).toBe(false);
      expect(list?.problems[0]).toBe(
        "GET /api/books 200 body: /0 must have required property 'isbn'",
      );
    } finally {
      await server.close();
    }
  });

  it('sends the API headers (the JWT) to the API only, never to the ALB', async () => {
    const api = await fakeServer(() => ({ status: 503, body: '{}' }));
    const alb = await fakeServer(() => ({ status: 503, body: '{}' }));
    try {
      await smokeInProcess({
        targets: { api: api.url, alb: alb.url },
        albHost: 'alb.internal',
        apiHeaders: { authorization: 'Bearer t' },
      });
      expect(alb.requests.length).toBeGreaterThan(0);
      expect(alb.requests.filter((r) => r.authorization)).toEqual([]);
      expect(api.requests.length).toBeGreaterThan(0);
      expect(api.requests.filter((r) => r.authorization !== 'Bearer t')).toEqual([]);
      // Every check is a GET asking for JSON.
      const asked = [...api.requests, ...alb.requests].map((r) => `${r.method} ${r.accept}`);
      expect(new Set(asked)).toEqual(new Set(['GET application/json']));
    } finally {
      await api.close();
      await alb.close();
    }
  });

  it('waits for every health check before judging, saying what it waits for', async () => {
    let polls = 0;
    const health = new Set(ws.services.map((s) => s.health.path));
    const server = await fakeServer((req) => {
      if (!health.has(req.url ?? '')) return { status: 404, body: '{"message":"Not Found"}' };
      polls++;
      return polls <= 2 * health.size
        ? { status: 503, body: '{"status":"draining"}' }
        : { status: 200, body: '{"status":"ok"}' };
    });
    try {
      const { report, lines } = await smokeInProcess({
        targets: { api: server.url },
        waitReadyMs: 10_000,
      });
      const draining = ws.services.map(
        (svc) => `${svc.name}: health: status 503, expected 200 (body: {"status":"draining"})`,
      );
      expect(lines).toContain(`[smoke]     waiting: ${draining.join('; ')}`);
      expect(lines.filter((l) => l.includes('WARN'))).toEqual([]);
      // Health came; the fake answers nothing else, so the other checks fail.
      expect(report.passed).toBe(false);
      const healthChecks = report.checks.filter((c) => c.name.endsWith(': health'));
      expect(healthChecks.map((c) => c.ok)).toEqual(ws.services.map(() => true));
    } finally {
      await server.close();
    }
  });

  it('does not wait without a wait time', async () => {
    const server = await fakeServer(() => ({ status: 503, body: '{}' }));
    try {
      const { lines } = await smokeInProcess({ targets: { api: server.url }, waitReadyMs: 0 });
      expect(lines.filter((l) => /waiting|WARN/.test(l))).toEqual([]);
      expect(server.requests).toHaveLength(ws.services.length * 5 + 1);
    } finally {
      await server.close();
    }
  });

  it('reads an answer without a content type as one with an empty one', async () => {
    const bare = http.createServer((_req, res) => res.writeHead(200).end('{}'));
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
      const { report } = await smokeInProcess({ targets: { api: url } });
      expect(report.checks[0]?.problems[0]).toBe('content-type "", expected application/json');
    } finally {
      bare.close();
    }
  });

  it('gives up on a request after its timeout', async () => {
    const silent = http.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const { report } = await smokeInProcess({ targets: { api: url }, timeoutMs: 100 });
      expect(report.checks.at(-1)?.problems).toEqual(['request failed: no answer within 100 ms']);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('judges anyway, with a warning, when health never comes within the wait', async () => {
    const server = await fakeServer(() => ({ status: 503, body: '{}' }));
    try {
      const { report, lines } = await smokeInProcess({
        targets: { api: server.url },
        waitReadyMs: 100,
      });
      expect(lines.filter((l) => l.includes('WARN'))).toEqual([
        expect.stringMatching(
          /^\[smoke\] WARN the services to answer their health checks did not finish within 100 ms \(last state: .+\); running the checks anyway$/,
        ),
      ]);
      expect(report.passed).toBe(false);
      expect(report.checks.length).toBe(ws.services.length * 5 + 1);
    } finally {
      await server.close();
    }
  });

  it('a request that fails outright is a failed check naming the error, and no sample', async () => {
    const server = await fakeServer(() => ({ status: 200, body: '' }));
    await server.close();
    const { report } = await smokeInProcess({ targets: { api: server.url }, samples: 1 });
    expect(report.passed).toBe(false);
    expect(report.checks.every((c) => c.ms === undefined && c.status === undefined)).toBe(true);
    expect(report.checks[0]?.problems).toEqual([
      expect.stringMatching(/^request failed: .*ECONNREFUSED/),
    ]);
    expect(report.latency).toEqual({ count: 0, p50: 0, p95: 0, max: 0 });
  });
});

/** runOnBastion's options for instance i-0abc with a fast backoff; `lines` collects its log. */
function onBastion(more: Partial<Parameters<typeof runOnBastion>[0]> = {}) {
  const lines: string[] = [];
  const options = {
    ssm: new SSMClient({ region: 'us-east-1' }),
    instanceId: 'i-0abc',
    script: 'true\n',
    timeoutMs: 60_000,
    log: createProgress('t', (line) => lines.push(line.trimEnd())),
    backoff: { initialDelayMs: 1, maxDelayMs: 2 },
    ...more,
  };
  return { options, lines };
}

describe('the bastion', { timeout: 60_000 }, () => {
  it('runs the generated curl script with bash: passes on the ALB, fails on a wrong Host', async () => {
    await withStandIns(async (targets) => {
      const checks = smokeChecks({ services: ws.services, targets, albHost: ALB_HOST });
      const good = await bash(bastionScript(checks, targets, 5_000));
      expect(good.out).toMatch(
        new RegExp(`^${checks.length}/${checks.length} checks passed$`, 'm'),
      );
      expect(good.code).toBe(0);
      expect(good.out.split('\n').filter((l) => l.startsWith('ok   '))).toHaveLength(checks.length);
      const wrongHost = smokeChecks({
        services: ws.services,
        targets: { alb: targets.alb },
        albHost: 'nobody.invalid',
      });
      const bad = await bash(bastionScript(wrongHost, { alb: targets.alb }, 5_000));
      expect(bad.code).not.toBe(0);
      expect(bad.out).toMatch(/FAIL alb: \S+: health: status 503, expected 200/);
    });
  });

  it('fails each check whose body is wrong, for every kind of body expectation', async () => {
    await withStandIns(async (targets) => {
      // The right status and content type, the wrong body: only the script's body tests can fail.
      const wrong = (body: BodyExpectation): BodyExpectation => {
        switch (body.kind) {
          case 'array':
            return { kind: 'array', length: body.length + 1 };
          case 'object':
            return { kind: 'object', fields: { ...body.fields, id: 999_999 } };
          case 'problem':
            return { kind: 'problem', status: body.status + 1 };
          case 'equals':
            return { kind: 'equals', value: { ...body.value, extra: 'field' } };
        }
      };
      const checks = smokeChecks({ services: ws.services, targets: { api: targets.api } }).flatMap(
        (c) => (c.body ? [{ ...c, body: wrong(c.body) }] : []),
      );
      expect(new Set(checks.map((c) => c.body.kind))).toEqual(
        new Set(['array', 'object', 'problem', 'equals']),
      );
      const bad = await bash(bastionScript(checks, { api: targets.api }, 5_000));
      expect(bad.code).not.toBe(0);
      expect(bad.out).toMatch(new RegExp(`^0/${checks.length} checks passed$`, 'm'));
      for (const c of checks) expect(bad.out).toContain(`FAIL ${c.name}: unexpected body`);
    });
  });

  it('runs each kind of check: two statuses, two fields, a content type, a target left out', async () => {
    await withStandIns(async (targets) => {
      const base = smokeChecks({ services: ws.services, targets }).find(
        (c) => c.name === 'book-service: get one',
      );
      if (!base) throw new Error('no check');
      const checks = [
        { ...base, name: 'two statuses', expectStatus: [404, 200] },
        {
          ...base,
          name: 'two fields',
          body: { kind: 'object', fields: { id: 1, publisher: 'Wiley' } },
        },
        {
          ...base,
          name: 'second field wrong',
          body: { kind: 'object', fields: { id: 1, publisher: 'Nobody' } },
        },
        { ...base, name: 'wrong type', expectContentType: 'application/xml' },
        { ...base, name: 'no target', target: 'alb' },
        // success_codes: 300-399 is a hundred codes, named as one range.
        {
          ...base,
          name: 'a range',
          expectStatus: Array.from({ length: 100 }, (_, i) => 300 + i),
        },
        { ...base, name: 'two others', expectStatus: [404, 500] },
      ] as (typeof base)[];
      const run = await bash(bastionScript(checks, { api: targets.api }, 5_000));
      expect(run.out.split('\n').map((l) => l.replace(/\(200, [\d.]+s\)/, '(200)'))).toEqual([
        'ok   two statuses (200)',
        'ok   two fields (200)',
        expect.stringMatching(/^FAIL second field wrong: unexpected body: /),
        'FAIL wrong type: content-type application/json, expected application/xml',
        expect.stringMatching(/^FAIL a range: status 200, expected 300-399 \(\{/),
        expect.stringMatching(/^FAIL two others: status 200, expected 404 or 500 \(\{/),
        '2/6 checks passed',
        '',
      ]);
      expect(run.code).not.toBe(0);
    });
  });

  it('gives curl the check timeout in whole seconds, at least one', () => {
    const maxTime = (ms: number) =>
      /--max-time (\d+) /.exec(bastionScript([], { api: 'http://x' }, ms))?.[1];
    expect([maxTime(10), maxTime(2_500), maxTime(5_000)]).toEqual(['1', '3', '5']);
  });

  it('ends the wait on every final invocation status, and says what it waits for', async () => {
    for (const final of ['Success', 'Failed', 'Cancelled', 'TimedOut', 'Cancelling'] as const) {
      const ssm = mockClient(SSMClient);
      ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-3' } });
      ssm
        .on(GetCommandInvocationCommand)
        .resolvesOnce({})
        .resolvesOnce({ Status: 'InProgress' })
        .resolves({ Status: final });
      const { options, lines } = onBastion();
      const out = await runOnBastion(options);
      expect(out.Status).toBe(final);
      expect(lines).toEqual([
        '[t]     SSM command cmd-3 sent to i-0abc',
        '[t]     bastion: Pending',
        '[t]     bastion: InProgress',
      ]);
      expect(ssm.commandCalls(GetCommandInvocationCommand)[0]?.args[0].input).toEqual({
        CommandId: 'cmd-3',
        InstanceId: 'i-0abc',
      });
      ssm.restore();
    }
  });

  it('stops at an error other than the invocation not being visible yet', async () => {
    const ssm = mockClient(SSMClient);
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-4' } });
    ssm
      .on(GetCommandInvocationCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(runOnBastion(onBastion().options)).rejects.toThrow('denied');
    ssm.restore();
  });

  it('sends AWS-RunShellScript to the instance and returns the invocation result', async () => {
    const ssm = mockClient(SSMClient);
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    ssm
      .on(GetCommandInvocationCommand)
      .rejectsOnce(Object.assign(new Error('not yet'), { name: 'InvocationDoesNotExist' }))
      .resolvesOnce({ Status: 'InProgress' })
      .resolves({ Status: 'Success', StandardOutputContent: '2/2 checks passed\n' });
    const script = '#!/bin/bash\necho one\necho two\n';
    const { options, lines } = onBastion({ script });
    const out = await runOnBastion(options);
    expect(out.Status).toBe('Success');
    // Not visible yet, right after SendCommand: pending, not an error.
    expect(lines).toContain('[t]     bastion: Pending');
    const sent = ssm.commandCalls(SendCommandCommand)[0]?.args[0].input;
    // The script's lines as the document's commands, its timeout (at least 30 s) twice.
    expect(sent).toEqual({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: ['i-0abc'],
      Comment: 'smoke test (scripts/smoke.ts --from-bastion)',
      TimeoutSeconds: 60,
      Parameters: {
        commands: ['#!/bin/bash', 'echo one', 'echo two'],
        executionTimeout: ['60'],
      },
    });
    expect(bastionCommandInput('i-1', 'true\n', 5).TimeoutSeconds).toBe(5);
    expect(ssm.commandCalls(GetCommandInvocationCommand)).toHaveLength(3);
    ssm.restore();
  });

  it('gives up on an invocation that does not end, and reports a missing command id', async () => {
    const ssm = mockClient(SSMClient);
    // The script's own backoff (1 s to 5 s): a dozen polls over the minute, not thousands.
    const { options } = onBastion({
      timeoutMs: 1,
      backoff: { initialDelayMs: 1_000, maxDelayMs: 5_000 },
    });
    ssm.on(SendCommandCommand).resolves({});
    await expect(runOnBastion(options)).rejects.toThrow('SSM SendCommand returned no command id');
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-2' } });
    ssm.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    // The wait is bounded: the script's timeout (30 s at least) plus 30 s, on a fake clock.
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout'] });
    try {
      const waiting = runOnBastion(options).then(
        () => 'finished',
        (error: Error) => error.message,
      );
      await vi.advanceTimersByTimeAsync(60_000);
      expect(await waiting).toMatch(/^SSM command cmd-2 on i-0abc did not finish within 30 s/);
    } finally {
      vi.useRealTimers();
      ssm.restore();
    }
  });
});

describe('checks added to a report', () => {
  const report = {
    passed: true,
    targets: { api: 'http://api' },
    checks: [checkResult('first', 'http://api/x', 200, undefined)],
    latency: { count: 1, p50: 1, p95: 1, max: 1 },
  };
  const service = ws.services[0] as (typeof ws.services)[number];

  it('are run against the API with the first service, logged, and decide the verdict', async () => {
    const lines: string[] = [];
    const log = createProgress('smoke', (line) => lines.push(line.trimEnd()));
    const seen: string[] = [];
    const merged = await withApiChecks(
      report,
      ws.services,
      'cors',
      async (api, svc) => {
        seen.push(`${api} ${svc.name}`);
        return [
          checkResult('cors: preflight', `${api}/p`, 204, undefined),
          checkResult('cors: origin', `${api}/o`, 200, 'no access-control-allow-origin'),
        ];
      },
      log,
    );
    expect(seen).toEqual([`http://api ${service.name}`]);
    expect(merged.passed).toBe(false);
    expect(merged.checks.map((c) => [c.name, c.ok, c.problems])).toEqual([
      ['first', true, []],
      ['cors: preflight', true, []],
      ['cors: origin', false, ['no access-control-allow-origin']],
    ]);
    expect(lines).toEqual([
      '[smoke]  ok cors: preflight',
      '[smoke] FAIL cors: origin: no access-control-allow-origin',
    ]);
  });

  it('keep a passing report passing when they all pass', async () => {
    const log = createProgress('smoke', () => {});
    const ok = async () => [checkResult('jwt', 'http://api', 401, undefined)];
    expect((await withApiChecks(report, ws.services, 'jwt', ok, log)).passed).toBe(true);
    const failed = { ...report, passed: false };
    expect((await withApiChecks(failed, ws.services, 'jwt', ok, log)).passed).toBe(false);
  });

  it('become one failed check, named after what was tried, when a request fails outright', async () => {
    const log = createProgress('smoke', () => {});
    const merged = await withApiChecks(
      report,
      ws.services,
      'jwt checks',
      async () => {
        throw new Error('socket hang up');
      },
      log,
    );
    expect(merged.passed).toBe(false);
    expect(merged.checks.at(-1)).toEqual({
      name: 'jwt checks',
      ok: false,
      url: 'http://api',
      problems: ['request failed: socket hang up'],
    });
  });

  it('are not run without a service, and list every problem of a failed one', async () => {
    const lines: string[] = [];
    const log = createProgress('smoke', (line) => lines.push(line.trimEnd()));
    const two = async () => [
      { ...checkResult('jwt', 'http://api', 200, 'a'), problems: ['a', 'b'] },
    ];
    expect(await withApiChecks(report, [], 'jwt', two, log)).toBe(report);
    await withApiChecks(report, ws.services, 'jwt', two, log);
    expect(lines).toEqual(['[smoke] FAIL jwt: a; b']);
  });

  it('are not run without an API URL', async () => {
    let ran = false;
    const albOnly = { ...report, targets: { alb: 'http://alb' } };
    const merged = await withApiChecks(
      albOnly,
      ws.services,
      'cors',
      async () => {
        ran = true;
        return [];
      },
      createProgress('smoke', () => {}),
    );
    expect(ran).toBe(false);
    expect(merged).toBe(albOnly);
  });
});

describe('check evaluation', () => {
  const [svc] = ws.services;
  // Built when a test asks (not when the file loads), so mutation testing sees which test ran it.
  const find = (suffix: string) =>
    smokeChecks({ services: ws.services, targets: { api: 'http://x' } }).find(
      (c) => c.service === svc?.name && c.name.endsWith(suffix),
    );

  it('requires problem+json with type, title, status and detail', () => {
    const missing = find('missing id is a 404 problem');
    if (!missing) throw new Error('no check');
    expect(
      evaluate(missing, {
        status: 404,
        contentType: 'application/problem+json',
        body: '{"type":"about:blank","title":"Not Found","status":404,"detail":"x"}',
      }),
    ).toEqual([]);
    expect(
      evaluate(missing, { status: 404, contentType: 'text/html', body: '<h1>nope</h1>' }),
    ).toEqual([
      'content-type "text/html", expected application/problem+json',
      'body is not JSON (body: <h1>nope</h1>)',
    ]);
    expect(
      evaluate(missing, {
        status: 404,
        contentType: 'application/problem+json',
        body: '{"title":"Not Found","status":400}',
      }),
    ).toEqual([
      'problem+json field "type" missing',
      'problem+json field "detail" missing',
      'problem+json status is 400, expected 404',
    ]);
  });

  type Check = Parameters<typeof evaluate>[0];
  const check = (more: Partial<Check>): Check => ({
    name: 'c',
    target: 'api',
    path: '/',
    expectStatus: [200],
    ...more,
  });
  const json = (body: string) => ({ status: 200, contentType: 'application/json', body });

  // The health check's success codes may be a range (success_codes: 200-299).
  it('names a range of statuses as one', () => {
    const range = check({ expectStatus: Array.from({ length: 100 }, (_, i) => 200 + i) });
    expect(evaluate(range, { status: 500, contentType: '', body: '' })).toEqual([
      'status 500, expected 200-299',
    ]);
    expect(evaluate(range, { status: 250, contentType: '', body: '' })).toEqual([]);
  });

  it('names the statuses it would accept, and shows the body, whitespace folded', () => {
    const twoStatuses = check({ expectStatus: [200, 204] });
    expect(evaluate(twoStatuses, { status: 500, contentType: '', body: ' oh\n\n  no ' })).toEqual([
      'status 500, expected 200 or 204 (body: oh no)',
    ]);
    expect(evaluate(twoStatuses, { status: 204, contentType: '', body: '' })).toEqual([]);
    expect(evaluate(twoStatuses, { status: 500, contentType: '', body: ' ' })).toEqual([
      'status 500, expected 200 or 204',
    ]);
    const long = 'x'.repeat(121);
    expect(evaluate(twoStatuses, { status: 500, contentType: '', body: long })).toEqual([
      `status 500, expected 200 or 204 (body: ${'x'.repeat(120)}...)`,
    ]);
    expect(evaluate(twoStatuses, { status: 500, contentType: '', body: long.slice(1) })).toEqual([
      `status 500, expected 200 or 204 (body: ${'x'.repeat(120)})`,
    ]);
  });

  it('matches the content type by its start, in any case', () => {
    const typed = check({ expectContentType: 'application/json' });
    const ok = { status: 200, body: '' };
    expect(evaluate(typed, { ...ok, contentType: 'Application/JSON; charset=utf-8' })).toEqual([]);
    expect(evaluate(typed, { ...ok, contentType: 'text/plain; application/json' })).toEqual([
      'content-type "text/plain; application/json", expected application/json',
    ]);
  });

  it('judges an array by its length, an object by its fields, a body by its members', () => {
    const array = check({ body: { kind: 'array', length: 2 } });
    expect(evaluate(array, json('[1,2]'))).toEqual([]);
    expect(evaluate(array, json('[1]'))).toEqual(['list has 1 items, expected 2']);
    expect(evaluate(array, json('{"a":1}'))).toEqual(['body is not a JSON array (body: {"a":1})']);
    const object = check({ body: { kind: 'object', fields: { id: 1, name: 'a' } } });
    expect(evaluate(object, json('{"id":1,"name":"a","more":true}'))).toEqual([]);
    expect(evaluate(object, json('{"id":2,"name":"a"}'))).toEqual(['field id is 2, expected 1']);
    for (const notObject of ['[1]', 'null', '"a"', '3']) {
      expect(evaluate(object, json(notObject))).toEqual([
        `body is not a JSON object (body: ${notObject})`,
      ]);
    }
    const equals = check({ body: { kind: 'equals', value: { status: 'ok' } } });
    expect(evaluate(equals, json('{"status":"ok","extra":1}'))).toEqual([]);
    expect(evaluate(equals, json('{"status":"draining"}'))).toEqual([
      'body {"status":"draining"}, expected {"status":"ok"}',
    ]);
    const pair = check({ body: { kind: 'equals', value: { a: '1', b: '2' } } });
    expect(evaluate(pair, json('{"a":"1","b":"x"}'))).toEqual([
      'body {"a":"1","b":"x"}, expected {"a":"1","b":"2"}',
    ]);
    expect(evaluate(check({}), json('not json'))).toEqual([]);
  });

  it('every service check insists on its content type, and "get one" on its id', () => {
    const checks = smokeChecks({ services: ws.services, targets: { api: 'http://x' } });
    const typed = checks.filter((c) => c.expectContentType !== undefined);
    expect(typed).toHaveLength(ws.services.length * 5 + 1);
    for (const c of typed) {
      const answer = { status: c.expectStatus[0] ?? 0, contentType: 'text/html', body: '' };
      expect(evaluate(c, answer).join(), c.name).toMatch(/^content-type "text\/html", expected /);
    }
    const getOne = find(': get one');
    if (!getOne) throw new Error('no check');
    expect(evaluate(getOne, json('{"id":2}'))).toEqual(['field id is 2, expected 1']);
  });

  it('are five a service and one 404 through the API, seven a service through the ALB', () => {
    const names = (targets: { api?: string; alb?: string }, expectedItems?: number) =>
      smokeChecks({
        services: ws.services,
        targets,
        albHost: 'alb',
        ...(expectedItems ? { expectedItems } : {}),
      }).map((c) => c.name);
    const n = ws.services.length;
    expect(names({ api: 'http://a' })).toHaveLength(5 * n + 1);
    expect(names({ alb: 'http://b' })).toHaveLength(7 * n);
    expect(names({ alb: 'http://b' }).filter((c) => c.startsWith('alb: alb: '))).toEqual([]);
    expect(names({ api: 'http://a' }, 3)).toContain(`${svc?.name}: list has 3 items`);
    expect(names({ alb: 'http://b' }, 3)).toContain(`alb: ${svc?.name}: list has 3 items`);
    expect(names({ api: 'http://a' })).toContain(`${svc?.name}: list has 6 items`);
  });

  it('joins a base URL and a path with one slash', () => {
    expect(joinUrl('http://x//', '/a')).toBe('http://x/a');
    expect(joinUrl('http://x', '/a')).toBe('http://x/a');
  });

  it('summarises latency with nearest-rank percentiles', () => {
    expect(latencySummary([7])).toEqual({ count: 1, p50: 7, p95: 7, max: 7 });
    expect(latencySummary([5, 1, 4, 2, 3, 10, 9, 8, 7, 6])).toEqual({
      count: 10,
      p50: 5,
      p95: 10,
      max: 10,
    });
    expect(latencySummary([])).toEqual({ count: 0, p50: 0, p95: 0, max: 0 });
  });
});
