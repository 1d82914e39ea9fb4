// The smoke test's request-head quota checks (scripts/checks/smoke-quotas.ts), in this process,
// against a raw socket standing in for API Gateway that counts each request head's bytes as
// the local gateway does (the request line and header lines, each with its CRLF): the heads
// sent are exactly as long as the checks say; each way an answer can differ from what the local
// stack assumes is named, as a user reads it; a host that is not API Gateway is left alone.
// test/local/smoke-quotas.test.ts runs the same checks against a whole local stack.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SmokeReport } from '../../scripts/checks/smoke-checks.ts';
import { headQuotaChecks, withHeadQuotaChecks } from '../../scripts/checks/smoke-quotas.ts';
import { createProgress } from '../../scripts/cli/command.ts';
import { HEAD_LIMIT_BYTES } from '../../scripts/workspace/http-api-settings.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';

const service = loadWorkspace().services[0];
if (!service) throw new Error('the workspace has no service');
const ASSUMPTION =
  'the local stack assumes otherwise: update scripts/local/gateway/http-api.ts and docs/verified.md';

interface Head {
  bytes: number;
  lines: string[];
}

interface Gateway {
  url: string;
  heads: Head[];
}

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => new Promise((resolve) => s.close(() => resolve(undefined)))),
  );
});

/**
 * A server reading each request's head off the socket, answering `answer(bytes)` (status and
 * body) with API Gateway's request id header, or none when `apigw` is false; `answer`
 * returning undefined leaves the request unanswered.
 */
async function gateway(
  answer: (bytes: number) => [number, string] | undefined,
  apigw = true,
): Promise<Gateway> {
  const heads: Head[] = [];
  const server = net.createServer((socket) => {
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const bytes = end + 2;
      heads.push({ bytes, lines: received.slice(0, end).split('\r\n') });
      const answered = answer(bytes);
      if (answered === undefined) return;
      const [status, body] = answered;
      const id = apigw ? 'apigw-requestid: abcdefghijklmno=\r\n' : '';
      socket.end(
        `HTTP/1.1 ${status} X\r\n${id}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    socket.on('error', () => {});
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}`, heads };
}

/** API Gateway as the local stack assumes it: 431 for a head longer than `limit` bytes. */
const refusingPast =
  (limit: number, body = '{"message":"Request Header Fields Too Large"}') =>
  (bytes: number): [number, string] =>
    bytes > limit ? [431, body] : [200, '{"status":"ok"}'];

describe('the request-head quota checks', () => {
  it('send a small head, then heads of exactly the limit and one byte more', async () => {
    const api = await gateway(refusingPast(HEAD_LIMIT_BYTES));
    const checks = await headQuotaChecks(`${api.url}/`, service, 5_000);
    expect(api.heads.map((h) => h.bytes)).toEqual([200, HEAD_LIMIT_BYTES, HEAD_LIMIT_BYTES + 1]);
    const url = `${api.url}${service.health.path}`;
    expect(checks).toEqual([
      {
        name: `api: a ${HEAD_LIMIT_BYTES}-byte request head reaches ${service.name}`,
        ok: true,
        url,
        status: 200,
        problems: [],
      },
      {
        name: `api: a ${HEAD_LIMIT_BYTES + 1}-byte request head gets API Gateway's 431`,
        ok: true,
        url,
        status: 431,
        problems: [],
      },
    ]);
  });

  it('each a GET of the health path with only Host, Connection and the padding', async () => {
    const api = await gateway(refusingPast(HEAD_LIMIT_BYTES));
    await headQuotaChecks(`${api.url}/stage/`, service, 5_000);
    const host = new URL(api.url).host;
    for (const head of api.heads) {
      const [line, ...fields] = head.lines;
      expect(line).toBe(`GET /stage${service.health.path} HTTP/1.1`);
      expect(fields.map((f) => f.slice(0, f.indexOf(':')))).toEqual([
        'Host',
        'Connection',
        'X-Smoke-Pad',
      ]);
      expect(fields.slice(0, 2)).toEqual([`Host: ${host}`, 'Connection: close']);
      expect(fields[2]).toMatch(/^X-Smoke-Pad: p+$/);
    }
  });

  it('fail where API Gateway lets a longer head through, with its answer', async () => {
    const api = await gateway(() => [200, '{}']);
    const [at, over] = await headQuotaChecks(api.url, service, 5_000);
    expect(at?.ok).toBe(true);
    expect(over).toMatchObject({
      ok: false,
      status: 200,
      problems: [`status 200, expected 431 (body: {}); ${ASSUMPTION}`],
    });
  });

  it('show at most 200 characters of an unexpected answer', async () => {
    const body = `${'a'.repeat(200)}${'b'.repeat(100)}`;
    const api = await gateway((bytes) => (bytes > HEAD_LIMIT_BYTES ? [400, body] : [200, '']));
    const [, over] = await headQuotaChecks(api.url, service, 5_000);
    expect(over?.problems).toEqual([
      `status 400, expected 431 (body: ${'a'.repeat(200)}); ${ASSUMPTION}`,
    ]);
  });

  it('fail where API Gateway refuses a head at the limit', async () => {
    const api = await gateway(refusingPast(HEAD_LIMIT_BYTES - 1));
    const [at, over] = await headQuotaChecks(api.url, service, 5_000);
    expect(at).toMatchObject({
      ok: false,
      status: 431,
      problems: [`status 431 where a small head got 200; ${ASSUMPTION}`],
    });
    expect(over?.ok).toBe(true);
  });

  it('compare the head at the limit with what the small head got, not with 200', async () => {
    const api = await gateway((bytes) => (bytes > HEAD_LIMIT_BYTES ? [431, ''] : [404, '']));
    const [at] = await headQuotaChecks(api.url, service, 5_000);
    expect(at).toMatchObject({ ok: true, status: 404 });
  });

  it('are none where the answers are not API Gateway’s, after one request', async () => {
    const api = await gateway(() => [200, '{}'], false);
    expect(await headQuotaChecks(api.url, service, 5_000)).toEqual([]);
    expect(api.heads).toHaveLength(1);
  });

  it('give up on a host that does not answer, saying how long they waited', async () => {
    const api = await gateway(() => undefined);
    await expect(headQuotaChecks(api.url, service, 50)).rejects.toThrow('no answer within 50 ms');
  });
});

describe('the checks in a smoke report', () => {
  const report = (api: string | undefined): SmokeReport => ({
    targets: { api },
    passed: true,
    checks: [],
    latency: { count: 0, p50: 0, p95: 0, max: 0 },
  });

  it('are added, each logged, the report failing with any of them', async () => {
    const api = await gateway(() => [200, '{}']);
    const lines: string[] = [];
    const log = createProgress('smoke', (line) => lines.push(line));
    const after = await withHeadQuotaChecks(report(api.url), [service], 5_000, log);
    expect(after.passed).toBe(false);
    expect(after.checks.map((c) => c.ok)).toEqual([true, false]);
    expect(lines.join('\n')).toContain(`request head reaches ${service.name}`);
    expect(lines.join('\n')).toContain(`request head gets API Gateway's 431: status 200`);
  });

  it('a request that fails outright is one failed check of the quota', async () => {
    const api = await gateway(() => undefined);
    const log = createProgress('smoke', () => {});
    const after = await withHeadQuotaChecks(report(api.url), [service], 50, log);
    expect(after.checks).toEqual([
      {
        name: 'api: the request-head quota',
        ok: false,
        url: api.url,
        problems: ['request failed: no answer within 50 ms'],
      },
    ]);
  });
});
