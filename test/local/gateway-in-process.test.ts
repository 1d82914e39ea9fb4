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
import { afterEach, describe, expect, it } from 'vitest';
import type { AccessLogRecord } from '../../scripts/workspace/http-api-settings.ts';
import { rawExchange, request } from '../helpers/http.ts';
import {
  ALB_HOST,
  type InProcessApi,
  type InProcessOptions,
  inProcessApi,
  PATH,
} from './in-process.ts';

let api: InProcessApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function start(options: InProcessOptions): Promise<InProcessApi> {
  api = await inProcessApi(options);
  return api;
}

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
    await api?.close();
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
