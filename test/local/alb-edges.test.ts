// The local ALB's exchanges with targets at their edges, in this process (in-process.ts): a
// health check as ELB sends it and what it makes of each outcome; the fixed pages byte for
// byte; requests on a listener that gets them late or in a version it does not speak; a GET
// sent again when the kept-alive connection it went out on was closed, and a POST not; a
// target that sends an interim answer (Early Hints), dies mid-body, or answers before the body has arrived.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BAD_GATEWAY,
  BAD_REQUEST,
  GATEWAY_TIMEOUT,
  REQUEST_TIMEOUT,
  rawPage,
  SERVICE_UNAVAILABLE,
  VERSION_NOT_SUPPORTED,
} from '../../scripts/local/alb/fixed-pages.ts';
import { httpProbe } from '../../scripts/local/alb/health-check.ts';
import { rawExchange, request } from '../helpers/http.ts';
import { waitFor } from '../helpers/wait.ts';
import { ALB_HOST, apiPerTest, PATH } from './in-process.ts';

const start = apiPerTest();
const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const HEALTH = {
  path: '/api/books/health',
  successCodes: [200],
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  intervalMs: 1_000,
  timeoutMs: 200,
};

describe('a health check', () => {
  it("is a GET of the path with ELB's user agent, on a connection of its own", async () => {
    const seen: Record<string, string | undefined>[] = [];
    const port = await serve((req, res) => {
      seen.push({
        method: req.method,
        url: req.url,
        ua: req.headers['user-agent'],
        connection: req.headers.connection,
      });
      res.writeHead(204).end();
    });
    expect(await httpProbe(port, HEALTH)).toEqual({ status: 204 });
    expect(seen).toEqual([
      { method: 'GET', url: '/api/books/health', ua: 'ELB-HealthChecker/2.0', connection: 'close' },
    ]);
  });

  it('tells a refused connection, a timeout and a dropped connection apart', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const refusedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await httpProbe(refusedPort, HEALTH)).toEqual({ error: 'refused' });
    const silent = await serve(() => {});
    expect(await httpProbe(silent, HEALTH)).toEqual({ error: 'timeout' });
    const dropping = await serve((req) => req.socket.destroy());
    expect(await httpProbe(dropping, HEALTH)).toEqual({ error: 'socket hang up' });
  });
  it("reads a target's whole answer, so the target is not left writing to a full connection", async () => {
    const big = Buffer.alloc(16 * 1024 * 1024, 'x');
    let finished!: Promise<void>;
    const port = await serve((_req, res) => {
      finished = new Promise((resolve) => res.once('finish', () => resolve()));
      res.writeHead(200, { 'content-length': big.length }).end(big);
    });
    // A check's timeout long enough for 16 MB on a busy machine: cut short, the target's
    // response would end in a reset, never in 'finish', whatever the probe does.
    expect(await httpProbe(port, { ...HEALTH, timeoutMs: 30_000 })).toEqual({ status: 200 });
    await finished;
  });
});

describe("the ALB's fixed pages", () => {
  const html = (status: number, title: string) =>
    `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n<center><h1>${status} ${title}</h1></center>\r\n</body>\r\n</html>\r\n`;

  it('are the nginx-style pages the ALB sends, each with its title', () => {
    for (const [page, status, title] of [
      [BAD_REQUEST, 400, 'Bad Request'],
      [REQUEST_TIMEOUT, 408, 'Request Time-out'],
      [BAD_GATEWAY, 502, 'Bad Gateway'],
      [SERVICE_UNAVAILABLE, 503, 'Service Temporarily Unavailable'],
      [GATEWAY_TIMEOUT, 504, 'Gateway Time-out'],
      [VERSION_NOT_SUPPORTED, 505, 'HTTP Version Not Supported'],
    ] as const) {
      expect(page.status).toBe(status);
      expect(page.body.toString()).toBe(html(status, title));
      expect(page.headers).toEqual([
        'server',
        'awselb/2.0',
        'content-type',
        'text/html',
        'content-length',
        String(Buffer.byteLength(html(status, title))),
      ]);
    }
  });

  it('are written whole to a socket no response owns, the connection closed after', () => {
    expect(rawPage(BAD_REQUEST).toString('latin1')).toBe(
      `HTTP/1.1 400 Bad Request\r\nserver: awselb/2.0\r\ncontent-type: text/html\r\ncontent-length: ${BAD_REQUEST.body.length}\r\nconnection: close\r\n\r\n${html(400, 'Bad Request')}`,
    );
  });
});

describe("the ALB's listener", () => {
  it('answers a request that does not arrive in time with its 408 page', async () => {
    const { albPort, apiPort } = await start({
      targets: [(_q, s) => s.end()],
      clientTimeouts: { headersMs: 100, requestMs: 200 },
    });
    const albReply = await rawExchange(
      albPort,
      Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n'),
      10_000,
    );
    expect(albReply.status).toBe(408);
    expect(albReply.body.toString()).toContain('408 Request Time-out');
    const apiReply = await rawExchange(
      apiPort,
      Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n'),
      10_000,
    );
    expect(apiReply.status).toBe(408);
    expect(apiReply.body.toString()).toBe('{"message":"Request Timeout"}');
  });

  it('answers an HTTP/2.0 request line with its 505, and closes the connection', async () => {
    const { albPort } = await start({ targets: [(_q, s) => s.end()] });
    const reply = await rawExchange(
      albPort,
      Buffer.from(`GET ${PATH} HTTP/2.0\r\nHost: ${ALB_HOST}\r\n\r\n`),
      5_000,
    );
    expect(reply.status).toBe(505);
    expect(reply.headers.connection).toBe('close');
    const noHost = await rawExchange(albPort, Buffer.from(`GET ${PATH} HTTP/1.1\r\n\r\n`), 5_000);
    expect(noHost.status).toBe(400);
    expect(noHost.headers.connection).toBe('close');
  });

  it('says port 80 in X-Forwarded-Port until it knows its own', async () => {
    let port: string | undefined;
    const { albUrl } = await start({
      targets: [
        (req, res) => {
          port = req.headers['x-forwarded-port'] as string;
          res.end();
        },
      ],
      portUnset: true,
    });
    await request(`${albUrl}${PATH}`, { headers: { host: ALB_HOST } });
    expect(port).toBe('80');
  });
});

describe('a target', () => {
  /** A target that drops every connection on its second request, unanswered. */
  function droppingSecond(bodies: string[]): http.RequestListener {
    const served = new WeakMap<object, number>();
    return (req, res) => {
      const count = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, count);
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        if (count === 2) {
          req.socket.destroy();
          return;
        }
        bodies.push(body);
        res.end(`answer ${count}`);
      });
    };
  }

  it('that closes a kept-alive connection as a GET goes out on it gets the GET again', async () => {
    const bodies: string[] = [];
    const { albUrl } = await start({ targets: [droppingSecond(bodies)] });
    const get = () => request(`${albUrl}${PATH}`, { headers: { host: ALB_HOST } });
    expect((await get()).status).toBe(200);
    // Sent on the same kept-alive connection, dropped, sent again on a new one.
    const again = await get();
    expect(again).toMatchObject({ status: 200, body: 'answer 1' });
    expect(bodies).toEqual(['', '']);
  });

  it('that drops a POST gets no second one: the client gets the 502', async () => {
    const bodies: string[] = [];
    const { albUrl } = await start({ targets: [droppingSecond(bodies)] });
    const post = () =>
      request(`${albUrl}${PATH}`, {
        method: 'POST',
        headers: { host: ALB_HOST },
        body: Buffer.from('order'),
      });
    expect((await post()).status).toBe(200);
    expect((await post()).status).toBe(502);
    expect(bodies).toEqual(['order']);
  });

  it('that sends interim Early Hints first: the client gets its final answer alone', async () => {
    const { apiUrl, accessLog } = await start({
      targets: [
        (_req, res) => {
          res.writeEarlyHints({ link: '</a.css>; rel=preload' });
          res.writeHead(201, { 'content-type': 'text/plain' });
          res.end('made');
        },
      ],
    });
    const reply = await request(`${apiUrl}${PATH}`);
    expect(reply).toMatchObject({ status: 201, body: 'made' });
    expect(accessLog[0]).toMatchObject({ status: '201', integrationStatus: '201' });
  });

  it('that dies mid-body: the client connection is cut, no second answer written', async () => {
    const { albPort } = await start({
      targets: [
        (req, res) => {
          res.writeHead(200, { 'content-length': '100' });
          res.write('partial');
          setImmediate(() => req.socket.destroy());
        },
      ],
    });
    const socket = net.connect(albPort, '127.0.0.1');
    let text = '';
    let closed = false;
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
    });
    socket.write(`GET ${PATH} HTTP/1.1\r\nHost: ${ALB_HOST}\r\n\r\n`);
    await waitFor('the connection cut', () => closed, 5_000);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text.endsWith('partial')).toBe(true);
    // One status line: no 502 page after the partial body. (Not "no '502' anywhere": the
    // x-local-target header names the target's port, which can hold those digits, as 45025 did.)
    expect(text.match(/HTTP\/1\.1 \d{3} /g)).toEqual(['HTTP/1.1 200 ']);
  });

  it('that answers before the body has arrived: the rest is read before the connection closes', async () => {
    const { albPort, group } = await start({
      targets: [
        (_req, res) => {
          res.writeHead(413, { 'content-type': 'text/plain' });
          res.end('no');
        },
      ],
      lingerMs: 5_000,
    });
    const socket = net.connect(albPort, '127.0.0.1');
    let text = '';
    let error: Error | undefined;
    let closed = false;
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.on('error', (e) => {
      error = e;
    });
    socket.on('close', () => {
      closed = true;
    });
    const size = 4 * 1024 * 1024;
    socket.write(
      `POST ${PATH} HTTP/1.1\r\nHost: ${ALB_HOST}\r\nConnection: close\r\nContent-Length: ${size}\r\n\r\n`,
    );
    socket.write(Buffer.alloc(64 * 1024, 'x'));
    await waitFor('the answer', () => text.includes('no'), 5_000);
    // The client sends the rest after the answer: it is read and dropped, then the close.
    socket.write(Buffer.alloc(size - 64 * 1024, 'y'));
    await waitFor('the close', () => closed, 10_000);
    expect(error).toBeUndefined();
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(group.targets[0]?.inFlight).toBe(0);
  });
});

describe('requests the ALB refuses by their version', () => {
  it('are answered at once and closed, without waiting for a body they announced', async () => {
    const { albPort, alb } = await start({ targets: [(_q, s) => s.end()] });
    alb.lingerMs = 600_000; // a wait for the body would outlast the exchange's bound
    const reply = await rawExchange(
      albPort,
      Buffer.from(`POST ${PATH} HTTP/2.0\r\nHost: ${ALB_HOST}\r\nContent-Length: 10\r\n\r\nabcd`),
      20_000,
    );
    expect(reply.status).toBe(505);
    expect(reply.timedOut).toBe(false);
  });
});

describe("the ALB's trace ids", () => {
  it('are X-Ray roots, one per request, when the client sent none', async () => {
    const seen: string[] = [];
    const { albUrl } = await start({
      targets: [
        (req, res) => {
          seen.push(String(req.headers['x-amzn-trace-id']));
          res.end();
        },
      ],
    });
    for (let i = 0; i < 3; i += 1)
      await request(`${albUrl}${PATH}`, { headers: { host: ALB_HOST } });
    // "Request tracing for your Application Load Balancer": Root=1-<8 hex: epoch seconds>-<24 hex>.
    for (const id of seen) expect(id).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(new Set(seen).size).toBe(3);
  });
});
