// Requests a careless or hostile client sends, and what the local HTTP API and ALB answer
// (issue 27): pipelined requests are handled one at a time per connection; a target that does
// not answer within the ALB's idle timeout gets the ALB's 504; the gateway's quotas hold
// however the request is framed or padded (a chunked body, `Expect: 100-continue`, whitespace
// node:http trims, fields the hops add); what node:http's parser refuses, and request lines
// that are not HTTP/1.x, get the gateway's own JSON answer with a request id and an
// access-log line, or on the ALB's listener the ALB's own page.
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { FORWARDED_FIELDS } from '../../scripts/local/alb/load-balancer.ts';
import { HEAD_LIMIT_BYTES, TARGET_MAX_FIELDS } from '../../scripts/local/gateway/http-api.ts';
import { rawExchange, request } from '../helpers/http.ts';
import { waitFor } from '../helpers/wait.ts';
import { FIXTURE_PATH, fixtureWorkspace } from '../reliability/helpers.ts';
import { stackForSuite } from './helpers.ts';

const IDLE_TIMEOUT_MS = 300;
const fixture = fixtureWorkspace({ realServices: false });
afterAll(() => fixture.remove());
const suite = stackForSuite({
  root: fixture.root,
  healthCheckScale: 0.1,
  albIdleTimeoutMs: IDLE_TIMEOUT_MS,
  clientTimeouts: { lingerMs: 200 },
});
const apiPort = () => Number(new URL(suite.stack.apiUrl).port);
const albPort = () => Number(new URL(suite.stack.albUrl).port);
const TEN_MB = 10 * 1024 * 1024;

/** Writes `bytes` on a fresh connection; resolves with all it reads until the close. */
function exchange(port: number, bytes: string | Buffer, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.write(bytes);
  });
}

/** The access-log line the stage wrote for this request id, parsed. */
function accessLogLine(requestId: string | undefined): Record<string, unknown> | undefined {
  const line = suite.log.lines.find((l) => requestId && l.line.includes(`"${requestId}"`));
  return line === undefined ? undefined : (JSON.parse(line.line) as Record<string, unknown>);
}

describe('a pipelining client', () => {
  const pipelined = (count: number, host: string) =>
    Array.from(
      { length: count },
      (_, i) => `GET ${FIXTURE_PATH}/sleep/${100 + i} HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    ).join('');

  it.each([
    ['the API', apiPort, 'api.example.com'],
    ['the ALB', albPort, ''],
  ])('is served one request at a time, in order, through %s', async (_name, port, host) => {
    const socket = net.connect(port(), '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.write(pipelined(8, host || suite.stack.albHost));
    const answers = () =>
      [...text.matchAll(/\{"slept":(\d+),"from":"(\d+)","to":"(\d+)"\}/g)].map(
        ([, ms, from, to]) => ({
          ms: Number(ms),
          from: BigInt(from ?? 0),
          to: BigInt(to ?? 0),
        }),
      );
    await waitFor('the eight answers', async () => answers().length === 8);
    socket.destroy();
    const served = answers();
    expect(served.map((a) => a.ms)).toEqual(Array.from({ length: 8 }, (_, i) => 100 + i));
    // One at a time, by the order of events: each request reached a replica only after the
    // previous one had finished there (the replicas' monotonic clock), whichever replica it was.
    for (let i = 1; i < served.length; i++) {
      expect(served[i]?.from, `request ${i} started before request ${i - 1} ended`).toBeGreaterThan(
        served[i - 1]?.to ?? 0n,
      );
    }
  });
});

describe("the ALB's idle timeout", () => {
  it('answers 504 on its own listener when a target sends nothing for that long', async () => {
    const reply = await request(`${suite.stack.albUrl}${FIXTURE_PATH}/sleep/60000`, {
      headers: { host: suite.stack.albHost },
    });
    expect(reply.status).toBe(504);
    expect(reply.headers.server).toBe('awselb/2.0');
    expect(reply.body).toContain('504 Gateway Time-out');
  });

  it('passes the 504 through the API, whose integration timeout is longer', async () => {
    const reply = await request(`${suite.stack.apiUrl}${FIXTURE_PATH}/sleep/60000`);
    expect(reply.status).toBe(504);
    expect(reply.headers['apigw-requestid']).toMatch(/=$/);
    expect(reply.body).toContain('504 Gateway Time-out');
  });
});

describe('the payload quota, however the body is framed', () => {
  const chunked = (size: number) => {
    const piece = Buffer.alloc(64 * 1024, 'x');
    const parts: Buffer[] = [
      Buffer.from(
        `POST ${FIXTURE_PATH}/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      ),
    ];
    for (let sent = 0; sent < size; sent += piece.length) {
      const chunk = piece.subarray(0, Math.min(piece.length, size - sent));
      parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    return Buffer.concat(parts);
  };

  it("answers a chunked body over 10 MB with the gateway's 413", async () => {
    const reply = await rawExchange(apiPort(), chunked(TEN_MB + 1), 20_000);
    expect(reply.status).toBe(413);
    expect(reply.headers['x-local-target']).toBeUndefined();
    expect(reply.body.toString()).toBe('{"message":"Request Entity Too Large"}');
  });

  it('sends a chunked body of up to 10 MB on, whole, with its length', async () => {
    const reply = await rawExchange(apiPort(), chunked(300_000), 20_000);
    expect(reply.status).toBe(200);
    expect(reply.headers['x-local-target']).toBeDefined();
    expect(JSON.parse(reply.body.toString())).toEqual({ bytes: 300_000 });
  });

  it('answers `Expect: 100-continue` with a length over the quota by the 413, no 100', async () => {
    const text = await exchange(
      apiPort(),
      `POST ${FIXTURE_PATH}/echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${TEN_MB + 1}\r\nExpect: 100-continue\r\n\r\n`,
    );
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).not.toContain('100 Continue');
    expect(text).toContain('{"message":"Request Entity Too Large"}');
  });

  it('sends 100 Continue only once it wants the body', async () => {
    const socket = net.connect(apiPort(), '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !text.includes('200')) {
        socket.write('hello');
      }
    });
    socket.write(
      `POST ${FIXTURE_PATH}/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
    );
    await new Promise((resolve) => socket.on('close', resolve));
    expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(text).toContain('{"bytes":5}');
  });
});

describe('the request head quota, counted as sent', () => {
  const closeHead = (lines: string[]) => `${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`;

  it.each([
    [
      'whitespace after a colon',
      closeHead([`GET ${FIXTURE_PATH} HTTP/1.1`, 'Host: x', `X-Pad:${' '.repeat(14_000)}v`]),
    ],
    [
      'tabs before a line end',
      closeHead([`GET ${FIXTURE_PATH} HTTP/1.1`, 'Host: x', `X-Pad: v${'\t'.repeat(11_000)}`]),
    ],
    [
      'empty lines before the request line',
      `${'\r\n'.repeat(6_000)}${closeHead([`GET ${FIXTURE_PATH} HTTP/1.1`, 'Host: x'])}`,
    ],
    [
      'spaces inside the request line',
      closeHead([`GET${' '.repeat(11_000)}${FIXTURE_PATH} HTTP/1.1`, 'Host: x']),
    ],
  ])("answers padding node:http drops (%s) with the gateway's 431", async (_name, head) => {
    expect(head.length).toBeGreaterThan(HEAD_LIMIT_BYTES);
    const reply = await rawExchange(apiPort(), Buffer.from(head, 'latin1'), 10_000);
    expect(reply.status).toBe(431);
    expect(reply.body.toString()).toBe('{"message":"Request Header Fields Too Large"}');
    expect(accessLogLine(reply.headers['apigw-requestid'])?.status).toBe('431');
  });
});

describe('header fields, counted with those the hops add', () => {
  /** A request whose fields, once the API and the ALB have added theirs, number `forwarded`. */
  const withForwarded = (forwarded: number) => {
    // Host and Connection are dropped by the hops; every other field is passed on.
    const own = forwarded - FORWARDED_FIELDS;
    const fields = Array.from({ length: own }, () => 'a: v');
    return Buffer.from(
      `GET ${FIXTURE_PATH} HTTP/1.1\r\nHost: x\r\n${fields.join('\r\n')}\r\nConnection: close\r\n\r\n`,
    );
  };

  it(`lets a request reach its replica with ${TARGET_MAX_FIELDS} fields`, async () => {
    const reply = await rawExchange(apiPort(), withForwarded(TARGET_MAX_FIELDS), 10_000);
    expect(reply.status).toBe(200);
    expect(reply.headers['x-local-target']).toBeDefined();
  });

  it("answers one field more with the gateway's 431, not the replica's bare one", async () => {
    const reply = await rawExchange(apiPort(), withForwarded(TARGET_MAX_FIELDS + 1), 10_000);
    expect(reply.status).toBe(431);
    expect(reply.headers['x-local-target']).toBeUndefined();
    expect(reply.body.toString()).toBe('{"message":"Request Header Fields Too Large"}');
  });
});

describe('what node:http refuses, and request lines that are not HTTP/1.x', () => {
  const many = Array.from({ length: 1_001 }, (_, i) => `f${i}: v`).join('\r\n');
  it.each([
    [
      'Content-Length with Transfer-Encoding',
      `POST ${FIXTURE_PATH}/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      400,
    ],
    ['a bare LF', `GET ${FIXTURE_PATH} HTTP/1.1\nHost: x\n\n`, 400],
    ['a NUL in a value', `GET ${FIXTURE_PATH} HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n`, 400],
    ['no Host', `GET ${FIXTURE_PATH} HTTP/1.1\r\nConnection: close\r\n\r\n`, 400],
    ['1,001 header fields', `GET ${FIXTURE_PATH} HTTP/1.1\r\nHost: x\r\n${many}\r\n\r\n`, 431],
    ['an invalid method', `G(T ${FIXTURE_PATH} HTTP/1.1\r\nHost: x\r\n\r\n`, 400],
    ['no version (HTTP/0.9)', `GET ${FIXTURE_PATH}\r\n\r\n`, 400],
    [
      'HTTP/2.0 in an HTTP/1 request line',
      `GET ${FIXTURE_PATH} HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n`,
      400,
    ],
  ])('answers %s in API Gateway’s shape, and logs it', async (_name, bytes, status) => {
    const reply = await rawExchange(apiPort(), Buffer.from(bytes, 'latin1'), 10_000);
    expect(reply.status).toBe(status);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.headers['x-local-target']).toBeUndefined();
    const requestId = reply.headers['apigw-requestid'];
    expect(requestId).toMatch(/^[\w-]{15}=$/);
    const message = status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    expect(JSON.parse(reply.body.toString())).toEqual({ message });
    await waitFor('its access-log line', () => accessLogLine(requestId) !== undefined);
    expect(accessLogLine(requestId)).toMatchObject({ status: String(status) });
  });

  it("answers CONNECT, which no route takes, with the gateway's 404, and logs it", async () => {
    const reply = await rawExchange(
      apiPort(),
      Buffer.from('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
      10_000,
    );
    expect(reply.status).toBe(404);
    expect(reply.body.toString()).toBe('{"message":"Not Found"}');
    const requestId = reply.headers['apigw-requestid'];
    await waitFor('its access-log line', () => accessLogLine(requestId) !== undefined);
    expect(accessLogLine(requestId)).toMatchObject({ httpMethod: 'CONNECT', status: '404' });
  });

  it.each([
    ['a bare LF', `GET ${FIXTURE_PATH} HTTP/1.1\nHost: x\n\n`, 400],
    ['no version (HTTP/0.9)', `GET ${FIXTURE_PATH}\r\n\r\n`, 400],
    ['no Host', `GET ${FIXTURE_PATH} HTTP/1.1\r\nConnection: close\r\n\r\n`, 400],
    ['HTTP/2.0 in an HTTP/1 request line', `GET ${FIXTURE_PATH} HTTP/2.0\r\nHost: x\r\n\r\n`, 505],
  ])("answers %s on the ALB's listener with the ALB's page", async (_name, bytes, status) => {
    const reply = await rawExchange(albPort(), Buffer.from(bytes, 'latin1'), 10_000);
    expect(reply.status).toBe(status);
    expect(reply.headers.server).toBe('awselb/2.0');
    expect(reply.body.toString()).toContain(`<title>${status} `);
  });
});
