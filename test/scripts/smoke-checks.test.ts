// The smoke checks' judgements, run in this process so mutation testing sees which test covers
// which line (smoke.test.ts runs smoke.ts as a user does, against the local stack): runSmoke's
// results and log lines, drift from the OpenAPI document, the JWT sent to the API only, the wait
// for health, refused connections; the bastion's curl script run with bash; the SSM request;
// checks added to a report; the evaluation of single answers. The services answer through
// their own apps behind a small in-process stand-in for the API and the ALB, built in each test.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { getRequestListener } from '@hono/node-server';
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
import { createApp as authorApp } from '../../services/author-service/src/app.ts';
import { createApp as bookApp } from '../../services/book-service/src/app.ts';
import { createLifecycle } from '../../services/common/src/lifecycle.ts';
import { createLogger } from '../../services/common/src/logger.ts';

const ws = loadWorkspace();
const APPS = { 'book-service': bookApp, 'author-service': authorApp } as const;
const ALB_HOST = 'alb.internal';

/**
 * The services' own apps behind one server, routed by path prefix as the HTTP API routes them
 * (anything else: its `{"message":"Not Found"}`), or, with `albHost`, as the internal ALB's
 * rules do: any other Host gets the default action's 503.
 */
async function servicesBehind(albHost?: string) {
  const deps = {
    lifecycle: createLifecycle(),
    logger: createLogger({ service: 't', level: 'silent' }),
  };
  const routes = ws.services.map((s) => ({
    prefix: s.pathPrefix,
    app: APPS[s.name as keyof typeof APPS](deps),
  }));
  const server = http.createServer(
    getRequestListener(async (request) => {
      const url = new URL(request.url);
      if (albHost !== undefined && url.host !== albHost) {
        return new Response('<html>503</html>', {
          status: 503,
          headers: { 'content-type': 'text/html' },
        });
      }
      const route = routes.find(
        (r) => url.pathname === r.prefix || url.pathname.startsWith(`${r.prefix}/`),
      );
      if (!route) return Response.json({ message: 'Not Found' }, { status: 404 });
      return route.app.fetch(request);
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

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
  const requests: { path: string; host: string; authorization?: string }[] = [];
  const server = http.createServer((req, res) => {
    requests.push({
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
      expect(lines.some((l) => /^\[smoke\]\s+waiting: .+: health: status 503/.test(l))).toBe(true);
      const healthChecks = report.checks.filter((c) => c.name.endsWith(': health'));
      expect(healthChecks.map((c) => c.ok)).toEqual(ws.services.map(() => true));
    } finally {
      await server.close();
    }
  });

  it('judges anyway, with a warning, when health never comes within the wait', async () => {
    const server = await fakeServer(() => ({ status: 503, body: '{}' }));
    try {
      const { report, lines } = await smokeInProcess({
        targets: { api: server.url },
        waitReadyMs: 100,
      });
      expect(lines.some((l) => /WARN .*; running the checks anyway$/.test(l))).toBe(true);
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

describe('the bastion', { timeout: 60_000 }, () => {
  it('runs the generated curl script with bash: passes on the ALB, fails on a wrong Host', async () => {
    await withStandIns(async (targets) => {
      const checks = smokeChecks({ services: ws.services, targets, albHost: ALB_HOST });
      const good = await bash(bastionScript(checks, targets, 5_000));
      expect(good.out).toMatch(
        new RegExp(`^${checks.length}/${checks.length} checks passed$`, 'm'),
      );
      expect(good.code).toBe(0);
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

  it('sends AWS-RunShellScript to the instance and returns the invocation result', async () => {
    const ssm = mockClient(SSMClient);
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    ssm
      .on(GetCommandInvocationCommand)
      .rejectsOnce(Object.assign(new Error('not yet'), { name: 'InvocationDoesNotExist' }))
      .resolvesOnce({ Status: 'InProgress' })
      .resolves({ Status: 'Success', StandardOutputContent: '2/2 checks passed\n' });
    const script = '#!/bin/bash\necho one\necho two\n';
    const out = await runOnBastion({
      ssm: new SSMClient({ region: 'us-east-1' }),
      instanceId: 'i-0abc',
      script,
      timeoutMs: 60_000,
      log: createProgress('t', () => {}),
      backoff: { initialDelayMs: 1, maxDelayMs: 2 },
    });
    expect(out.Status).toBe('Success');
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
    const options = {
      ssm: new SSMClient({ region: 'us-east-1' }),
      instanceId: 'i-0abc',
      script: 'true\n',
      timeoutMs: 1,
      log: createProgress('t', () => {}),
      backoff: { initialDelayMs: 1, maxDelayMs: 2 },
    };
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

  it('summarises latency with nearest-rank percentiles', () => {
    expect(latencySummary([5, 1, 4, 2, 3, 10, 9, 8, 7, 6])).toEqual({
      count: 10,
      p50: 5,
      p95: 10,
      max: 10,
    });
    expect(latencySummary([])).toEqual({ count: 0, p50: 0, p95: 0, max: 0 });
  });
});
