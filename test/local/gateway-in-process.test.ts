// The local HTTP API in front of the local ALB, both in this process, in front of targets the
// test serves (in-process.ts): what a client gets and what a target receives, at each of the
// gateway's decisions. The same behaviours as the stack suites, without a replica process, so
// each is checked at its edge and in milliseconds: the integration's Host overwrite and
// X-Forwarded-*; API Gateway's own 404, 413, 429, 431, 400 and the integration timeout's 503;
// the ALB's own 502 and 503 reaching the client with the API's request id and CORS headers,
// as every integration response does; the payload quota at its edge, however the body is
// framed; CORS preflights; and one access-log line per request, in the template's format.
import type http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { FORWARDED_FIELDS } from '../../scripts/local/alb/load-balancer.ts';
import { startLocalIssuer } from '../../scripts/local/gateway/jwt-issuer.ts';
import { BodyBudget } from '../../scripts/local/gateway/request-body.ts';
import { TARGET_MAX_FIELDS } from '../../scripts/local/gateway/request-rules.ts';
import {
  type AccessLogRecord,
  HEAD_LIMIT_BYTES,
} from '../../scripts/workspace/http-api-settings.ts';
import { rawExchange, request } from '../helpers/http.ts';
import { waitFor } from '../helpers/wait.ts';
import { ALB_HOST, apiPerTest, type InProcessApi, PATH } from './in-process.ts';

const start = apiPerTest();

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A target that answers 200 with what it received, and records it. */
function echo(seen: Seen[] = [], extra: Record<string, string> = {}): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json', ...extra });
      res.end(JSON.stringify({ bytes: body.length }));
    });
  };
}

const ORIGIN = 'https://app.example.com';
const REQUEST_ID = /^[A-Za-z0-9]{15}=$/;

describe('a request the API routes to a healthy target', () => {
  it('reaches it with the Host overwritten and X-Forwarded-* set, the path unchanged', async () => {
    const seen: Seen[] = [];
    const { apiUrl, albPort } = await start({ targets: [echo(seen)] });
    const reply = await request(`${apiUrl}${PATH}/7?q=1`, {
      headers: { host: 'api.example.com', 'x-forwarded-for': '203.0.113.9', 'user-agent': 'ua/1' },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['apigw-requestid']).toMatch(REQUEST_ID);
    expect(reply.headers['x-local-target']).toMatch(/^127\.0\.0\.1:\d+$/);
    const [got] = seen;
    expect(got?.url).toBe(`${PATH}/7?q=1`);
    expect(got?.headers.host).toBe(ALB_HOST);
    // The client's own, then the client's address (API Gateway), then the VPC link's (the ALB).
    expect(got?.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1, 127.0.0.1');
    expect(got?.headers['x-forwarded-proto']).toBe('http');
    expect(got?.headers['x-forwarded-port']).toBe(String(albPort));
    expect(got?.headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(got?.headers['user-agent']).toBe('ua/1');
  });

  it('writes one access-log line with the route, the statuses and the request id', async () => {
    const { apiUrl, accessLog } = await start({ targets: [echo()] });
    const reply = await request(`${apiUrl}${PATH}/7?q=1`, { method: 'DELETE' });
    expect(accessLog).toHaveLength(1);
    expect(accessLog[0]).toMatchObject({
      requestId: reply.headers['apigw-requestid'],
      ip: '127.0.0.1',
      httpMethod: 'DELETE',
      routeKey: `ANY ${PATH}/{proxy+}`,
      path: `${PATH}/7`,
      status: '200',
      protocol: 'HTTP/1.1',
      responseLength: String(Buffer.byteLength(reply.body)),
      integrationStatus: '200',
      integrationErrorMessage: '-',
      errorMessage: '-',
    });
    expect(Number(accessLog[0]?.responseLatency)).toBeGreaterThanOrEqual(0);
    expect(Number(accessLog[0]?.integrationLatency)).toBeGreaterThanOrEqual(0);
    expect(accessLog[0]?.requestTime).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
  });

  it('tells an observer of each request, with the rule and the target that served it', async () => {
    const observed: [AccessLogRecord, string | undefined, string | undefined][] = [];
    const observer = {
      active: true,
      served: (record: AccessLogRecord, rule?: string, target?: string) => {
        observed.push([record, rule, target]);
      },
    };
    const { apiUrl } = await start({ targets: [echo()], observer });
    const reply = await request(`${apiUrl}${PATH}`);
    const [[record, rule, target] = []] = observed;
    expect(rule).toBe('book-service');
    expect(target).toBe(reply.headers['x-local-target']);
    expect(record).toMatchObject({
      requestId: reply.headers['apigw-requestid'],
      routeKey: `ANY ${PATH}`,
      status: 200,
      integrationStatus: 200,
      httpMethod: 'GET',
      path: PATH,
    });
    // The record is the fields alone, not the request with its sockets.
    expect(Object.keys(record ?? {}).sort()).toEqual(
      [
        'domainName',
        'errorMessage',
        'httpMethod',
        'integrationErrorMessage',
        'integrationLatency',
        'integrationStatus',
        'path',
        'protocol',
        'requestId',
        'requestTimeEpoch',
        'responseLatency',
        'responseLength',
        'routeKey',
        'sourceIp',
        'status',
        'userAgent',
      ].sort(),
    );
  });

  it('takes a request target in absolute-form, routing by its path', async () => {
    const seen: Seen[] = [];
    const { apiPort } = await start({ targets: [echo(seen)] });
    const reply = await rawExchange(
      apiPort,
      Buffer.from(
        `GET http://api.example.com${PATH}?x=1 HTTP/1.1\r\nHost: y\r\nConnection: close\r\n\r\n`,
      ),
      5_000,
    );
    expect(reply.status).toBe(200);
    expect(seen[0]?.url).toBe(`${PATH}?x=1`);
  });
});

describe("the API's own answers", () => {
  it("answers a path no route takes with API Gateway's 404, logged with no route", async () => {
    const seen: Seen[] = [];
    const { apiUrl, accessLog } = await start({ targets: [echo(seen)] });
    const reply = await request(`${apiUrl}/api/bookshelf`);
    expect(reply).toMatchObject({ status: 404, body: '{"message":"Not Found"}' });
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.headers['apigw-requestid']).toMatch(REQUEST_ID);
    expect(seen).toEqual([]);
    expect(accessLog[0]).toMatchObject({ routeKey: '-', status: '404', errorMessage: 'Not Found' });
  });

  it("throttles a route past its bucket with the stage's 429, other routes unaffected", async () => {
    const { apiUrl, accessLog } = await start({
      targets: [echo()],
      // A burst of two and no refill the test could wait for.
      settings: (s) => ({
        ...s,
        routes: s.routes.map((r) => ({ ...r, throttling: { rateLimit: 1e-9, burstLimit: 2 } })),
      }),
    });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(`${apiUrl}${PATH}`)).status);
    expect(statuses).toEqual([200, 200, 429]);
    const other = await request(`${apiUrl}${PATH}/1`);
    expect(other.status).toBe(200);
    const refused = await request(`${apiUrl}${PATH}`);
    expect(refused.body).toBe('{"message":"Too Many Requests"}');
    expect(accessLog.at(-1)).toMatchObject({ routeKey: `ANY ${PATH}`, status: '429' });
  });

  it('answers with 503 when the integration does not answer in time, and logs why', async () => {
    const { apiUrl, accessLog } = await start({
      targets: [() => {}],
      settings: (s) => ({ ...s, integrationTimeoutMs: 50 }),
    });
    const reply = await request(`${apiUrl}${PATH}`);
    expect(reply).toMatchObject({ status: 503, body: '{"message":"Service Unavailable"}' });
    expect(reply.headers['apigw-requestid']).toMatch(REQUEST_ID);
    expect(accessLog[0]).toMatchObject({
      status: '503',
      integrationStatus: '-',
      integrationErrorMessage: 'The integration did not respond within 50 ms',
      errorMessage: 'Service Unavailable',
    });
  });

  it('answers an HTTP/1.1 request without Host with 400, and takes HTTP/1.0 without one', async () => {
    const { apiPort } = await start({ targets: [echo()] });
    const noHost = await rawExchange(
      apiPort,
      Buffer.from(`GET ${PATH} HTTP/1.1\r\nConnection: close\r\n\r\n`),
      5_000,
    );
    expect(noHost.status).toBe(400);
    expect(noHost.body.toString()).toBe('{"message":"Bad Request"}');
    const old = await rawExchange(apiPort, Buffer.from(`GET ${PATH} HTTP/1.0\r\n\r\n`), 5_000);
    expect(old.status).toBe(200);
  });

  it('answers a request the parser refuses in its own shape, and logs its request line', async () => {
    const { apiPort, accessLog } = await start({ targets: [echo()] });
    const reply = await rawExchange(
      apiPort,
      Buffer.from(
        `GET ${PATH}?a=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n`,
      ),
      5_000,
    );
    expect(reply.status).toBe(400);
    expect(reply.headers['apigw-requestid']).toMatch(REQUEST_ID);
    expect(accessLog.at(-1)).toMatchObject({
      httpMethod: 'GET',
      path: PATH,
      protocol: 'HTTP/1.1',
      status: '400',
      routeKey: '-',
      errorMessage: 'Bad Request',
      ip: '127.0.0.1',
    });
  });

  it("answers CONNECT with the gateway's 404 and logs it", async () => {
    const { apiPort, accessLog } = await start({ targets: [echo()] });
    const reply = await rawExchange(
      apiPort,
      Buffer.from('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
      5_000,
    );
    expect(reply.status).toBe(404);
    expect(reply.body.toString()).toBe('{"message":"Not Found"}');
    expect(accessLog.at(-1)).toMatchObject({
      httpMethod: 'CONNECT',
      path: 'example.com:443',
      status: '404',
    });
  });
});

describe("the ALB's own answers, through the API", () => {
  it.each([
    ['no target registered', [], 503, '503 Service Temporarily Unavailable'],
    ['a target that refuses the connection', ['refused' as const], 502, '502 Bad Gateway'],
  ])(
    '%s: its page, with the request id and the CORS headers',
    async (_what, targets, status, title) => {
      const { apiUrl, accessLog } = await start({
        targets,
        parameters: { CorsAllowOrigins: ORIGIN },
      });
      const reply = await request(`${apiUrl}${PATH}`, { headers: { origin: ORIGIN } });
      expect(reply.status).toBe(status);
      expect(reply.body).toContain(`<title>${title}</title>`);
      expect(reply.headers.server).toBe('awselb/2.0');
      expect(reply.headers['apigw-requestid']).toMatch(REQUEST_ID);
      expect(reply.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(reply.headers['access-control-expose-headers']).toBe('x-request-id');
      expect(reply.headers.vary).toBe('Origin');
      expect(accessLog[0]).toMatchObject({
        status: String(status),
        integrationStatus: String(status),
        responseLength: String(Buffer.byteLength(reply.body)),
        errorMessage: '-',
      });
    },
  );

  it("gives another origin the ALB's page with no CORS header", async () => {
    const { apiUrl } = await start({ targets: [], parameters: { CorsAllowOrigins: ORIGIN } });
    const reply = await request(`${apiUrl}${PATH}`, {
      headers: { origin: `${ORIGIN}.evil.test` },
    });
    expect(reply.status).toBe(503);
    expect(reply.headers['apigw-requestid']).toMatch(REQUEST_ID);
    expect(reply.headers['access-control-allow-origin']).toBeUndefined();
  });

  it("replaces a target's own CORS headers with the configured ones", async () => {
    const { apiUrl } = await start({
      targets: [echo([], { 'access-control-allow-origin': '*', vary: 'Accept' })],
      parameters: { CorsAllowOrigins: ORIGIN },
    });
    const reply = await request(`${apiUrl}${PATH}`, { headers: { origin: ORIGIN } });
    expect(reply.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(reply.headers.vary).toBe('Accept, Origin');
    const foreign = await request(`${apiUrl}${PATH}`, { headers: { origin: 'https://evil.test' } });
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CORS preflights', () => {
  it('are answered by the API itself, on a route or not, and never reach a target', async () => {
    const seen: Seen[] = [];
    const { apiUrl, accessLog } = await start({
      targets: [echo(seen)],
      parameters: { CorsAllowOrigins: ORIGIN },
    });
    for (const path of [PATH, `${PATH}/1`, '/no/route']) {
      const reply = await request(`${apiUrl}${path}`, {
        method: 'OPTIONS',
        headers: { origin: ORIGIN, 'access-control-request-method': 'GET' },
      });
      expect(reply.status).toBe(204);
      expect(reply.body).toBe('');
      expect(reply.headers).toMatchObject({
        'access-control-allow-origin': ORIGIN,
        'access-control-allow-methods': 'GET,HEAD,OPTIONS',
        'access-control-max-age': '600',
      });
      expect(reply.headers['apigw-requestid']).toMatch(REQUEST_ID);
    }
    expect(seen).toEqual([]);
    expect(accessLog.map((l) => l.status)).toEqual(['204', '204', '204']);
  });

  it('are plain requests without CORS, or without the method they ask for', async () => {
    const seen: Seen[] = [];
    const { apiUrl } = await start({ targets: [echo(seen)] });
    const noCors = await request(`${apiUrl}${PATH}`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'GET' },
    });
    expect(noCors.status).toBe(200);
    expect(noCors.headers['access-control-allow-origin']).toBeUndefined();
    const unroutedNoCors = await request(`${apiUrl}/no/route`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'GET' },
    });
    expect(unroutedNoCors.status).toBe(404);
    const withCors = await start({
      targets: [echo(seen)],
      parameters: { CorsAllowOrigins: ORIGIN },
    });
    const plain = await request(`${withCors.apiUrl}${PATH}`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN },
    });
    expect(plain.status).toBe(200);
    expect(seen.map((s) => s.method)).toEqual(['OPTIONS', 'OPTIONS']);
    const unrouted = await request(`${withCors.apiUrl}/no/route`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN },
    });
    expect(unrouted.status).toBe(404);
  });
});

describe('the payload quota, however the body is framed', () => {
  const LIMIT = 1_024;
  const small = (s: InProcessApi['settings']) => ({ ...s, payloadLimitBytes: LIMIT });

  it('lets a body of exactly the quota through, with its length', async () => {
    const seen: Seen[] = [];
    const { apiUrl } = await start({ targets: [echo(seen)], settings: small });
    const body = Buffer.alloc(LIMIT, 'a');
    expect((await request(`${apiUrl}${PATH}`, { method: 'POST', body })).status).toBe(200);
    const chunked = await rawExchange(
      Number(new URL(apiUrl).port),
      Buffer.from(
        `POST ${PATH} HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n${'b'.repeat(512)}\r\n200\r\n${'c'.repeat(512)}\r\n0\r\n\r\n`,
      ),
      5_000,
    );
    expect(chunked.status).toBe(200);
    expect(seen.map((s) => s.body.length)).toEqual([LIMIT, LIMIT]);
    // A chunked body is sent on with the length it turned out to have.
    expect(seen[1]?.headers['content-length']).toBe(String(LIMIT));
    expect(seen[1]?.headers['transfer-encoding']).toBeUndefined();
  });

  it("refuses one byte more with the gateway's 413, before the target sees anything", async () => {
    const seen: Seen[] = [];
    const { apiUrl, apiPort, accessLog } = await start({ targets: [echo(seen)], settings: small });
    const over = await request(`${apiUrl}${PATH}`, {
      method: 'POST',
      body: Buffer.alloc(LIMIT + 1, 'a'),
    });
    expect(over).toMatchObject({ status: 413, body: '{"message":"Request Entity Too Large"}' });
    const chunked = await rawExchange(
      apiPort,
      Buffer.from(
        `POST ${PATH} HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n${'b'.repeat(512)}\r\n201\r\n${'c'.repeat(513)}\r\n0\r\n\r\n`,
      ),
      5_000,
    );
    expect(chunked.status).toBe(413);
    expect(seen).toEqual([]);
    expect(accessLog.map((l) => [l.status, l.errorMessage])).toEqual([
      ['413', 'Request Entity Too Large'],
      ['413', 'Request Entity Too Large'],
    ]);
  });

  it('is checked only on a routed request: no route is a 404 whatever the body', async () => {
    const { apiUrl } = await start({ targets: [echo()], settings: small });
    const reply = await request(`${apiUrl}/nowhere`, {
      method: 'POST',
      body: Buffer.alloc(LIMIT + 1),
    });
    expect(reply.status).toBe(404);
  });

  it('sends 100 Continue only for a body it wants', async () => {
    const seen: Seen[] = [];
    const { apiPort } = await start({ targets: [echo(seen)], settings: small });
    const head = (length: number) =>
      `POST ${PATH} HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;
    const refused = await rawExchange(apiPort, Buffer.from(head(LIMIT + 1)), 5_000);
    expect(refused.status).toBe(413);
    const wanted = await continueThenSend(apiPort, head(3), 'abc');
    expect(wanted).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(seen.map((s) => s.body.toString())).toEqual(['abc']);
  });
});

/** Sends `head`, waits for the interim 100, then sends `body`; resolves with all it read. */
function continueThenSend(port: number, head: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let sent = false;
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!sent && text.includes('100 Continue\r\n\r\n')) {
        sent = true;
        socket.write(body);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    socket.write(head);
  });
}

/** `POST` of a chunked "hello" under this Transfer-Encoding, on a connection of its own. */
function postHello(port: number, coding: string) {
  const head = `POST ${PATH} HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: ${coding}`;
  return rawExchange(port, Buffer.from(`${head}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`), 5_000);
}

describe('a transfer coding other than chunked', () => {
  it('is not sent on as if the body had none: 501, the target never reached (RFC 9112 §6.1)', async () => {
    const seen: Seen[] = [];
    const { apiPort, accessLog } = await start({ targets: [echo(seen)] });
    for (const coding of ['gzip, chunked', 'deflate,chunked']) {
      const reply = await postHello(apiPort, coding);
      expect({ coding, status: reply.status, body: reply.body.toString() }).toEqual({
        coding,
        status: 501,
        body: '{"message":"Not Implemented"}',
      });
    }
    // Before, the target got the coded bytes with `content-length: 5` and no coding at all.
    expect(seen).toEqual([]);
    expect(accessLog.map((l) => l.status)).toEqual(['501', '501']);
  });

  it('leaves chunked alone, whatever its case', async () => {
    const seen: Seen[] = [];
    const { apiPort } = await start({ targets: [echo(seen)] });
    const reply = await postHello(apiPort, 'Chunked');
    expect(reply.status).toBe(200);
    expect(seen.map((s) => s.body.toString())).toEqual(['hello']);
  });
});

describe('what an observer is told of each request', () => {
  function observing(active = true) {
    const records: [AccessLogRecord, string | undefined, string | undefined][] = [];
    return {
      records,
      observer: {
        active,
        served: (record: AccessLogRecord, rule?: string, target?: string) => {
          records.push([record, rule, target]);
        },
      },
    };
  }

  it("a request the API answers itself: no route, no integration, the client's own names", async () => {
    const { records, observer } = observing();
    const { apiPort } = await start({ targets: [echo()], observer });
    const before = Date.now();
    const started = performance.now();
    const reply = await rawExchange(
      apiPort,
      Buffer.from(
        'GET /nowhere?x=1 HTTP/1.1\r\nHost: API.Example.com:8443\r\nConnection: close\r\n\r\n',
      ),
      5_000,
    );
    const elapsed = performance.now() - started;
    const after = Date.now();
    expect(reply.status).toBe(404);
    const [[record, rule, target] = []] = records;
    expect(rule).toBeUndefined();
    expect(target).toBeUndefined();
    expect(record).toMatchObject({
      routeKey: '-',
      path: '/nowhere',
      domainName: 'api.example.com',
      userAgent: '',
      status: 404,
      responseLength: '{"message":"Not Found"}'.length,
      integrationStatus: -1,
      integrationLatency: -1,
      integrationErrorMessage: '',
      errorMessage: 'Not Found',
      sourceIp: '127.0.0.1',
      protocol: 'HTTP/1.1',
    });
    // Consistent with what the client saw: no clock is asserted, only the order of events.
    expect(record?.requestTimeEpoch).toBeGreaterThanOrEqual(before - 1);
    expect(record?.requestTimeEpoch).toBeLessThanOrEqual(after + 1);
    expect(record?.responseLatency).toBeGreaterThanOrEqual(0);
    expect(record?.responseLatency).toBeLessThanOrEqual(elapsed + 1);
  });

  it("a request the integration answers: its status and latency within the response's", async () => {
    const { records, observer } = observing();
    const { apiUrl } = await start({ targets: [echo()], observer });
    const started = performance.now();
    await request(`${apiUrl}${PATH}`, { headers: { 'user-agent': 'probe/1' } });
    const elapsed = performance.now() - started;
    const [[record] = []] = records;
    expect(record).toMatchObject({
      userAgent: 'probe/1',
      integrationStatus: 200,
      routeKey: `ANY ${PATH}`,
    });
    expect(record?.integrationLatency).toBeGreaterThanOrEqual(0);
    expect(record?.integrationLatency).toBeLessThanOrEqual(record?.responseLatency ?? -1);
    expect(record?.responseLatency).toBeLessThanOrEqual(elapsed + 1);
  });

  it('a request the parser refused, with or without a request line to read', async () => {
    const { records, observer } = observing();
    const { apiPort } = await start({ targets: [echo()], observer });
    const before = Date.now();
    await rawExchange(
      apiPort,
      Buffer.from('GET /a HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n'),
      5_000,
    );
    await rawExchange(apiPort, Buffer.from('\u0000\u0001garbage\r\n\r\n'), 5_000);
    const after = Date.now();
    const [first, second] = records.map(([r]) => r);
    expect(first).toMatchObject({
      httpMethod: 'GET',
      path: '/a',
      protocol: 'HTTP/1.1',
      routeKey: '-',
      userAgent: '',
      domainName: '',
      status: 400,
      responseLength: '{"message":"Bad Request"}'.length,
      integrationStatus: -1,
      integrationLatency: -1,
      integrationErrorMessage: '',
      errorMessage: 'Bad Request',
    });
    expect(second).toMatchObject({ httpMethod: '-', path: '-', protocol: '-', status: 400 });
    for (const record of [first, second]) {
      expect(record?.requestTimeEpoch).toBeGreaterThanOrEqual(before - 1);
      expect(record?.requestTimeEpoch).toBeLessThanOrEqual(after + 1);
      expect(record?.responseLatency).toBeGreaterThanOrEqual(0);
      expect(record?.responseLatency).toBeLessThan(60_000);
    }
  });

  it('nothing while it is not active', async () => {
    const { records, observer } = observing(false);
    const { apiUrl, apiPort } = await start({ targets: [echo()], observer });
    await request(`${apiUrl}${PATH}`);
    await rawExchange(apiPort, Buffer.from('BAD\r\n\r\n'), 5_000);
    expect(records).toEqual([]);
  });
});

describe('a client that goes away before its answer', () => {
  it("stops the exchange with the target, frees the target's slot and logs no response", async () => {
    let closed = false;
    const { apiPort, group, accessLog } = await start({
      targets: [
        (req) => {
          req.on('close', () => {
            closed = true;
          });
        },
      ],
    });
    const socket = net.connect(apiPort, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(`GET ${PATH} HTTP/1.1\r\nHost: a\r\n\r\n`);
    await waitFor('the request at the target', () => group.targets[0]?.inFlight === 1, 5_000);
    socket.destroy();
    await waitFor('the target to see it go', () => closed, 5_000);
    await waitFor('the slot freed', () => group.targets[0]?.inFlight === 0, 5_000);
    await waitFor('the access-log line', () => accessLog.length === 1, 5_000);
    expect(accessLog[0]).toMatchObject({
      status: '-',
      responseLength: '-',
      integrationStatus: '-',
    });
  });
});

describe('a client told to continue', () => {
  it('that then sends too much gets the 413 and keeps its connection for the next request', async () => {
    const { apiPort } = await start({
      targets: [echo()],
      settings: (s) => ({ ...s, payloadLimitBytes: 8 }),
    });
    const socket = net.connect(apiPort, '127.0.0.1');
    socket.on('error', () => {});
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.write(
      `POST ${PATH} HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    await waitFor('the 100', () => text.includes('100 Continue'), 5_000);
    socket.write('9\r\n123456789\r\n0\r\n\r\n');
    await waitFor('the 413', () => text.includes('Request Entity Too Large'), 5_000);
    expect(text).not.toMatch(/connection: close/i);
    socket.write(`GET ${PATH} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    await waitFor('the next answer', () => /HTTP\/1\.1 200 /.test(text), 5_000);
    socket.destroy();
  });
});

describe('the JWT authorizer on the routes', () => {
  it('lets a valid token through, and refuses none, a bad one and two, before the target', async () => {
    const issuer = await startLocalIssuer();
    try {
      const seen: Seen[] = [];
      const { apiUrl, accessLog } = await start({
        targets: [echo(seen)],
        parameters: { JwtIssuer: issuer.url, JwtAudience: 'local' },
      });
      const token = await issuer.sign({ aud: 'local' });
      const ok = await request(`${apiUrl}${PATH}/1`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(ok.status).toBe(200);
      expect(seen[0]?.headers.authorization).toBe(`Bearer ${token}`);
      const none = await request(`${apiUrl}${PATH}`);
      expect(none).toMatchObject({ status: 401, body: '{"message":"Unauthorized"}' });
      expect(none.headers['www-authenticate']).toBeUndefined();
      expect(none.headers['apigw-requestid']).toMatch(REQUEST_ID);
      const other = await issuer.sign({ aud: 'someone-else' });
      const wrong = await request(`${apiUrl}${PATH}`, {
        headers: { authorization: `Bearer ${other}` },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.headers['www-authenticate']).toBe(
        'Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"',
      );
      const twice = await rawExchange(
        Number(new URL(apiUrl).port),
        Buffer.from(
          `GET ${PATH} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${token}\r\nauthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
        ),
        5_000,
      );
      expect(twice.status).toBe(401);
      expect(seen).toHaveLength(1);
      expect(accessLog.map((l) => l.status)).toEqual(['200', '401', '401', '401']);
      // The preflight of an authorized route without CORS is a request like any other: refused.
      const options = await request(`${apiUrl}${PATH}`, {
        method: 'OPTIONS',
        headers: { origin: ORIGIN, 'access-control-request-method': 'GET' },
      });
      expect(options.status).toBe(401);
    } finally {
      await issuer.close();
    }
  });

  it('with CORS on too, lets preflights through the unauthenticated OPTIONS routes', async () => {
    const issuer = await startLocalIssuer();
    try {
      const seen: Seen[] = [];
      const { apiUrl } = await start({
        targets: [echo(seen)],
        parameters: { JwtIssuer: issuer.url, JwtAudience: 'local', CorsAllowOrigins: ORIGIN },
      });
      const preflight = await request(`${apiUrl}${PATH}/1`, {
        method: 'OPTIONS',
        headers: { origin: ORIGIN, 'access-control-request-method': 'GET' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect((await request(`${apiUrl}${PATH}/1`)).status).toBe(401);
      expect(seen).toEqual([]);
    } finally {
      await issuer.close();
    }
  });
});

describe("the integration's own settings", () => {
  it("passes the client's Host on when the template does not overwrite it", async () => {
    const seen: Seen[] = [];
    const { apiUrl, apiPort } = await start({
      targets: [echo(seen)],
      settings: (s) => ({ ...s, hostOverwritten: false }),
    });
    expect((await request(`${apiUrl}${PATH}`, { headers: { host: ALB_HOST } })).status).toBe(200);
    expect(seen[0]?.headers.host).toBe(ALB_HOST);
    // Another Host matches no listener rule: the ALB's default action.
    expect(
      (await request(`${apiUrl}${PATH}`, { headers: { host: 'api.example.com' } })).status,
    ).toBe(503);
    const absolute = await rawExchange(
      apiPort,
      Buffer.from(
        `GET http://${ALB_HOST}${PATH} HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n`,
      ),
      5_000,
    );
    expect(absolute.status).toBe(200);
  });

  it('applies its header mappings, and counts them against the fields a replica takes', async () => {
    const seen: Seen[] = [];
    const { apiPort } = await start({
      targets: [echo(seen)],
      settings: (s) => ({
        ...s,
        headerMappings: [
          { action: 'overwrite', header: 'x-env', value: { kind: 'static', text: 'test' } },
          { action: 'append', header: 'x-alb', value: { kind: 'albDnsName' } },
        ],
      }),
    });
    const head = (fields: number) => {
      const lines = [`GET ${PATH} HTTP/1.1`, 'Host: a', 'Connection: close', 'X-Env: client'];
      for (let i = lines.length - 1; i < fields; i++) lines.push(`X-${i}: v`);
      return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
    };
    // Host and Connection are the hops' own (counted in FORWARDED_FIELDS); two mappings.
    const most = TARGET_MAX_FIELDS - FORWARDED_FIELDS - 2 + 2;
    const fits = await rawExchange(apiPort, head(most), 10_000);
    expect(fits.status).toBe(200);
    expect(seen[0]?.headers['x-env']).toBe('test');
    expect(seen[0]?.headers['x-alb']).toBe(ALB_HOST);
    expect((await rawExchange(apiPort, head(most + 1), 10_000)).status).toBe(431);
  });

  it('counts the head as sent, the whitespace node:http trims included', async () => {
    const { apiPort } = await start({ targets: [echo()] });
    const base = `GET ${PATH} HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Pad: `;
    // The padding's trailing blanks are dropped by the parser, but they were sent.
    const padded = (size: number, blanks: number) => {
      const value = `${'p'.repeat(size - base.length - blanks - 2)}${' '.repeat(blanks)}`;
      return Buffer.from(`${base}${value}\r\n\r\n`);
    };
    expect((await rawExchange(apiPort, padded(HEAD_LIMIT_BYTES, 100), 5_000)).status).toBe(200);
    expect((await rawExchange(apiPort, padded(HEAD_LIMIT_BYTES + 1, 100), 5_000)).status).toBe(431);
  });

  it('writes no access log when the stage has no format, or the stack turned it off', async () => {
    const { apiUrl, apiPort, accessLog } = await start({
      targets: [echo()],
      settings: (s) => ({ ...s, accessLogFormat: undefined }),
    });
    expect((await request(`${apiUrl}${PATH}`)).status).toBe(200);
    expect(accessLog).toEqual([]);
    const off = await start({ targets: [echo()], accessLog: false });
    expect((await request(`${off.apiUrl}${PATH}`)).status).toBe(200);
    expect((await rawExchange(off.apiPort, Buffer.from('BAD\r\n\r\n'), 5_000)).status).toBe(400);
    expect(off.accessLog).toEqual([]);
    expect(apiPort).toBeGreaterThan(0);
  });

  it('releases a chunked body it held once the response is over', async () => {
    const budget = new BodyBudget(1_000);
    const { apiPort } = await start({ targets: [echo()], bodyBudget: budget });
    const reply = await postHello(apiPort, 'chunked');
    expect(reply.status).toBe(200);
    await waitFor('the body released', () => budget.heldBytes === 0, 5_000);
  });

  it('reads on after an early answer for longer than a moment, by default', async () => {
    const { apiPort } = await start({
      targets: [echo()],
      settings: (s) => ({ ...s, payloadLimitBytes: 8 }),
    });
    const socket = net.connect(apiPort, '127.0.0.1');
    let closed = false;
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => {});
    socket.write(`POST ${PATH} HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n12345`);
    await waitFor('the 413', () => text.includes(' 413 '), 5_000);
    // Far below the 2 s a silent client is given, far above a timer of no delay.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed).toBe(false);
    socket.destroy();
  });
});
