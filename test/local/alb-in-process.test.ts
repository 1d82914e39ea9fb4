// The local internal ALB reached directly, in this process, in front of targets the test serves
// (in-process.ts): Copilot's listener rules on Host and path (a near miss of either gets the
// default action's 503), the headers a target receives and those the client gets back, the
// ALB's fixed pages (400, 502, 503, 504, 505) byte for byte in shape, round robin and fail-open,
// and what it does when a target answers early, fails, or the client goes away.
import type http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  BAD_GATEWAY,
  BAD_REQUEST,
  GATEWAY_TIMEOUT,
  REQUEST_TIMEOUT,
  rawPage,
  SERVICE_UNAVAILABLE,
  VERSION_NOT_SUPPORTED,
} from '../../scripts/local/alb/fixed-pages.ts';
import { FORWARDED_FIELDS } from '../../scripts/local/alb/load-balancer.ts';
import { rawExchange, request } from '../helpers/http.ts';
import { waitFor } from '../helpers/wait.ts';
import { ALB_HOST, apiPerTest, INTERNAL_HOST, PATH } from './in-process.ts';

const start = apiPerTest();

const ok =
  (body = 'ok'): http.RequestListener =>
  (_req, res) =>
    res.end(body);

describe("Copilot's listener rule, on the ALB's own listener", () => {
  it("takes the ALB's name and the service's internal name, in any case, with a port", async () => {
    const { albUrl } = await start({ targets: [ok()] });
    for (const host of [ALB_HOST, INTERNAL_HOST, ALB_HOST.toUpperCase(), `${INTERNAL_HOST}:80`]) {
      const reply = await request(`${albUrl}${PATH}`, { headers: { host } });
      expect({ host, status: reply.status }).toEqual({ host, status: 200 });
    }
  });

  it('sends a near miss of either name to the default action: 503', async () => {
    const { albUrl } = await start({ targets: [ok()] });
    const misses = [
      `${ALB_HOST}.evil.test`,
      `evil.${ALB_HOST}`,
      ALB_HOST.slice(0, -1),
      `${ALB_HOST}.`,
      `x${INTERNAL_HOST}`,
      INTERNAL_HOST.replace('book-service', 'author-service'),
      '127.0.0.1',
      'localhost',
    ];
    for (const host of misses) {
      const reply = await request(`${albUrl}${PATH}`, { headers: { host } });
      expect({ host, status: reply.status }).toEqual({ host, status: 503 });
      expect(reply.headers['x-local-target']).toBeUndefined();
    }
  });

  it('matches the path, a segment below it or a query, and nothing that only starts like it', async () => {
    const { albUrl } = await start({ targets: [ok()] });
    const status = async (path: string) =>
      (await request(`${albUrl}${path}`, { headers: { host: ALB_HOST } })).status;
    for (const path of [PATH, `${PATH}/`, `${PATH}/1`, `${PATH}?x`, `${PATH}/a/b`]) {
      expect({ path, status: await status(path) }).toEqual({ path, status: 200 });
    }
    for (const path of [
      `${PATH}x`,
      `${PATH}-1`,
      PATH.slice(0, -1),
      `/x${PATH}`,
      '/',
      '/API/BOOKS',
    ]) {
      expect({ path, status: await status(path) }).toEqual({ path, status: 503 });
    }
  });
});

describe('what a target receives, and what the client gets back', () => {
  it("sets Host and X-Forwarded-*, drops the client's own and the hop-by-hop fields", async () => {
    let seen: http.IncomingHttpHeaders = {};
    let raw: string[] = [];
    const { albUrl, albPort } = await start({
      targets: [
        (req, res) => {
          seen = req.headers;
          raw = req.rawHeaders;
          res.end();
        },
      ],
    });
    await request(`${albUrl}${PATH}`, {
      headers: {
        host: ALB_HOST,
        'x-forwarded-for': '198.51.100.7',
        'x-forwarded-proto': 'https',
        'x-forwarded-port': '443',
        'x-amzn-trace-id': 'Root=1-00000000-000000000000000000000001',
        'keep-alive': 'timeout=5',
        'x-custom': 'kept',
      },
    });
    expect(seen.host).toBe(ALB_HOST);
    expect(seen['x-forwarded-for']).toBe('198.51.100.7, 127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-port']).toBe(String(albPort));
    // A trace id the client sent is kept; the ALB makes one only when there is none.
    expect(seen['x-amzn-trace-id']).toBe('Root=1-00000000-000000000000000000000001');
    expect(seen['keep-alive']).toBeUndefined();
    expect(seen['x-custom']).toBe('kept');
    // One of each: the client's values are replaced, not added to.
    const count = (name: string) =>
      raw.filter((_, i) => i % 2 === 0 && raw[i]?.toLowerCase() === name).length;
    expect(['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-port'].map(count)).toEqual(
      [1, 1, 1, 1],
    );
    // What FORWARDED_FIELDS counts: the fields a target receives besides the client's own.
    const own = raw.filter((_, i) => i % 2 === 0).filter((n) => n.toLowerCase() === 'x-custom');
    expect(own).toHaveLength(1);
    expect(FORWARDED_FIELDS).toBe(6);
  });

  it('drops the fields the Connection header names, each way (RFC 9110 §7.6.1)', async () => {
    let seen: http.IncomingHttpHeaders = {};
    const { apiPort } = await start({
      targets: [
        (req, res) => {
          seen = req.headers;
          // Set-Cookie's value happens to be a field's name: only Connection's options count.
          res.writeHead(200, {
            connection: 'X-Internal',
            'x-internal': 'secret',
            'x-other': '1',
            'set-cookie': 'x-other',
          });
          res.end('ok');
        },
      ],
    });
    const reply = await rawExchange(
      apiPort,
      Buffer.from(
        `GET ${PATH} HTTP/1.1\r\nHost: x\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nX-Custom: kept\r\n\r\n`,
      ),
      5_000,
    );
    expect(reply.status).toBe(200);
    expect(seen['x-custom']).toBe('kept');
    expect(seen['x-hop']).toBeUndefined();
    expect(reply.headers['x-other']).toBe('1');
    expect(reply.headers['set-cookie']).toBe('x-other');
    expect(reply.headers['x-internal']).toBeUndefined();
  });

  it("passes the target's status, headers and body, without its connection's own fields", async () => {
    const { albUrl } = await start({
      targets: [
        (_req, res) => {
          res.writeHead(201, {
            'x-from': 'target',
            'keep-alive': 'timeout=1',
            connection: 'keep-alive',
          });
          res.end('created');
        },
      ],
    });
    const reply = await request(`${albUrl}${PATH}`, { headers: { host: ALB_HOST } });
    expect(reply.status).toBe(201);
    expect(reply.body).toBe('created');
    expect(reply.headers['x-from']).toBe('target');
    expect(reply.headers['keep-alive']).toBeUndefined();
    expect(reply.headers['x-local-target']).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('streams a body of unannounced length, and counts it for the access log', async () => {
    const { apiUrl, accessLog } = await start({
      targets: [
        (_req, res) => {
          res.write('a'.repeat(1000));
          setImmediate(() => res.end('b'.repeat(234)));
        },
      ],
    });
    const reply = await request(`${apiUrl}${PATH}`);
    expect(reply.body).toHaveLength(1234);
    expect(accessLog[0]?.responseLength).toBe('1234');
  });

  it('counts no body for HEAD, 204 and 304, whatever length they announce', async () => {
    const statuses = [204, 304, 200];
    const { apiUrl, accessLog } = await start({
      targets: [
        (req, res) => {
          const status = req.method === 'HEAD' ? 200 : (statuses.shift() as number);
          res.writeHead(status, { 'content-length': status === 200 ? '5' : '0' });
          res.end(req.method === 'HEAD' || status !== 200 ? undefined : 'hello');
        },
      ],
    });
    await request(`${apiUrl}${PATH}`);
    await request(`${apiUrl}${PATH}`);
    const head = await request(`${apiUrl}${PATH}`, { method: 'HEAD' });
    expect(head.headers['content-length']).toBe('5');
    expect(accessLog.map((l) => [l.status, l.responseLength])).toEqual([
      ['204', '0'],
      ['304', '0'],
      ['200', '0'],
    ]);
  });

  it('streams a request body to the target as it comes', async () => {
    let got = '';
    const { albUrl } = await start({
      targets: [
        (req, res) => {
          req.setEncoding('utf8');
          req.on('data', (chunk: string) => {
            got += chunk;
          });
          req.on('end', () => res.end(String(got.length)));
        },
      ],
    });
    const body = Buffer.alloc(100_000, 'z');
    const reply = await request(`${albUrl}${PATH}`, {
      method: 'PUT',
      headers: { host: ALB_HOST },
      body,
    });
    expect(reply.body).toBe('100000');
  });
});

describe("the ALB's own pages", () => {
  it('answers no target with its 503, in the shape the ALB sends', async () => {
    const { albUrl } = await start({ targets: [] });
    const reply = await request(`${albUrl}${PATH}`, { headers: { host: ALB_HOST } });
    expect(reply.status).toBe(503);
    expect(reply.headers).toMatchObject({ server: 'awselb/2.0', 'content-type': 'text/html' });
    expect(reply.body).toBe(SERVICE_UNAVAILABLE.body.toString());
    expect(reply.body).toBe(
      '<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n',
    );
    expect(reply.headers['content-length']).toBe(String(SERVICE_UNAVAILABLE.body.length));
  });

  it('answers a target that refuses the connection with its 502', async () => {
    const { albUrl } = await start({ targets: ['refused'] });
    const reply = await request(`${albUrl}${PATH}`, { headers: { host: ALB_HOST } });
    expect(reply.status).toBe(502);
    expect(reply.body).toBe(BAD_GATEWAY.body.toString());
  });

  it('answers a target silent for the idle timeout with its 504, passed through the API', async () => {
    const { albUrl, apiUrl, accessLog } = await start({ targets: [() => {}], idleTimeoutMs: 50 });
    const direct = await request(`${albUrl}${PATH}`, { headers: { host: ALB_HOST } });
    expect(direct.status).toBe(504);
    expect(direct.body).toContain('504 Gateway Time-out');
    const through = await request(`${apiUrl}${PATH}`);
    expect(through.status).toBe(504);
    expect(through.headers['apigw-requestid']).toBeDefined();
    expect(accessLog[0]).toMatchObject({ status: '504', integrationStatus: '504' });
  });

  it('answers what its parser refuses with its 400, 505 or 408 page on the socket', async () => {
    const { albPort } = await start({ targets: [ok()] });
    const malformed = await rawExchange(
      albPort,
      Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n'),
      5_000,
    );
    expect(malformed.status).toBe(400);
    expect(malformed.headers.server).toBe('awselb/2.0');
    expect(malformed.body.toString()).toBe(BAD_REQUEST.body.toString());
    const h2 = await rawExchange(albPort, Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), 5_000);
    expect(h2.status).toBe(505);
    expect(h2.body.toString()).toBe(VERSION_NOT_SUPPORTED.body.toString());
    const raw = rawPage(REQUEST_TIMEOUT).toString('latin1');
    expect(raw).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(raw).toContain('\r\nserver: awselb/2.0\r\n');
    expect(raw).toContain('\r\nconnection: close\r\n\r\n<html>');
    expect(raw.endsWith(REQUEST_TIMEOUT.body.toString())).toBe(true);
    expect(rawPage(GATEWAY_TIMEOUT).toString()).toMatch(/^HTTP\/1\.1 504 Gateway Timeout\r\n/);
  });

  it('answers an HTTP/1.1 request with no Host, or a request with no version, with its 400', async () => {
    const { albPort } = await start({ targets: [ok()] });
    const noHost = await rawExchange(albPort, Buffer.from(`GET ${PATH} HTTP/1.1\r\n\r\n`), 5_000);
    expect(noHost.status).toBe(400);
    expect(noHost.headers.server).toBe('awselb/2.0');
    const old = await rawExchange(
      albPort,
      Buffer.from(`GET ${PATH} HTTP/1.0\r\nHost: ${ALB_HOST}\r\n\r\n`),
      5_000,
    );
    expect(old.status).toBe(200);
  });
});

describe('targets', () => {
  it('take requests in turn', async () => {
    const { albUrl } = await start({ targets: [ok('a'), ok('b'), ok('c')] });
    const bodies: string[] = [];
    for (let i = 0; i < 6; i++) {
      bodies.push((await request(`${albUrl}${PATH}`, { headers: { host: ALB_HOST } })).body);
    }
    expect(bodies).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('a GET whose kept-alive connection the target has closed goes once more, on a new one', async () => {
    // A target that closes every kept-alive connection right after its answer, without saying so.
    let served = 0;
    const { albUrl, group } = await start({
      targets: [
        (req, res) => {
          served++;
          req.resume();
          req.on('end', () => {
            res.end(String(served));
            res.socket?.end();
          });
        },
      ],
    });
    const first = await request(`${albUrl}${PATH}`, { headers: { host: ALB_HOST } });
    expect(first.status).toBe(200);
    // The pool's connection is now closed by the target; the next GET is retried on a new one.
    const second = await request(`${albUrl}${PATH}`, { headers: { host: ALB_HOST } });
    expect(second.status).toBe(200);
    expect(group.targets[0]?.inFlight).toBe(0);
  });

  it('stops the exchange with a target when the client goes away, freeing its slot', async () => {
    let aborted = false;
    const { albPort, group } = await start({
      targets: [
        (req) => {
          req.on('close', () => {
            aborted = true;
          });
        },
      ],
    });
    const socket = net.connect(albPort, '127.0.0.1');
    socket.write(`GET ${PATH} HTTP/1.1\r\nHost: ${ALB_HOST}\r\n\r\n`);
    await waitFor('the request in flight', () => group.targets[0]?.inFlight === 1, 5_000);
    socket.destroy();
    await waitFor('the target to see the request end', () => aborted, 5_000);
    await waitFor('the slot freed', () => group.targets[0]?.inFlight === 0, 5_000);
  });

  it('answer before the request body has arrived: the client still gets the answer', async () => {
    const { albPort } = await start({
      targets: [
        (_req, res) => {
          res.writeHead(413, { connection: 'close' });
          res.end('too large');
        },
      ],
      lingerMs: 200,
    });
    const socket = net.connect(albPort, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    socket.write(
      `POST ${PATH} HTTP/1.1\r\nHost: ${ALB_HOST}\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(1000)}`,
    );
    await waitFor('the answer', () => text.includes('too large'), 5_000);
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    socket.destroy();
  });
});
