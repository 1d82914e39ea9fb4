// The local HTTP API's answers that come before the request has all arrived, as a client on a
// raw connection sees them (in-process.ts): the gateway's own error to a client waiting for
// 100 Continue (sent at once, and the connection closed, since the body that client holds back
// is no request of ours: RFC 9110 §10.1.1), the same error to a client already sending its
// body (the answer at once, the exchange over, and logged, only once the body is in:
// linger.ts), a body announced by Content-Length streamed to the target (which may answer
// before it is all sent), CONNECT's access-log line, and the console's observer told of each
// request with the access log turned off.
import { describe, expect, it } from 'vitest';
import type { AccessLogRecord } from '../../scripts/workspace/http-api-settings.ts';
import { rawConnection, rawExchange, request } from '../helpers/http.ts';
import { waitFor } from '../helpers/wait.ts';
import { apiPerTest, PATH } from './in-process.ts';

const start = apiPerTest();
const ORIGIN = 'https://app.example.com';

/** A bound for a connection the server should close at once; never the behaviour tested. */
const GUARD_MS = 10_000;

/** A few turns of the event loop, for what the server does right after it has answered. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('an early error to a client waiting for 100 Continue', () => {
  it.each([
    ['a path no route takes (404)', '/nope', () => 10, 404],
    ['a body over the payload quota (413)', PATH, (quota: number) => quota + 1, 413],
  ])('answers %s at once and closes the connection', async (_name, path, lengthOf, status) => {
    const { apiPort, settings } = await start({ targets: [() => {}], lingerMs: 60_000 });
    const length = lengthOf(settings.payloadLimitBytes);
    const reply = await rawExchange(
      apiPort,
      Buffer.from(
        `POST ${path} HTTP/1.1\r\nHost: api.example.com\r\nExpect: 100-continue\r\n` +
          `Content-Length: ${length}\r\n\r\n`,
      ),
      GUARD_MS,
    );
    expect(reply.timedOut).toBe(false);
    expect(reply.status).toBe(status);
    expect(reply.headers.connection).toBe('close');
    expect(reply.headers['apigw-requestid']).toBeDefined();
  });
});

describe('an early answer to a client still sending its body', () => {
  it.each([
    ["the gateway's 404", 'POST /nope', {}, '404', '{"message":"Not Found"}'],
    [
      'a CORS preflight',
      `OPTIONS ${PATH}`,
      { CorsAllowOrigins: ORIGIN },
      '204',
      'access-control-allow-origin: https://app.example.com',
    ],
  ] as const)(
    '(%s) is sent at once, and the exchange ends (and is logged) only once the body is in',
    async (_name, line, parameters, status, seen) => {
      const { apiPort, accessLog } = await start({ parameters, lingerMs: 60_000 });
      const client = rawConnection(apiPort);
      client.socket.write(
        `${line} HTTP/1.1\r\nHost: api.example.com\r\nOrigin: ${ORIGIN}\r\n` +
          'Access-Control-Request-Method: GET\r\nContent-Length: 10\r\n\r\nhello',
      );
      await waitFor('the answer', () => client.text.includes(seen));
      expect(client.text.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
      await settle();
      // Half the body is still to come: the exchange is not over.
      expect(accessLog).toEqual([]);
      expect(client.closed).toBe(false);
      client.socket.write('world');
      await waitFor('the access-log line', () => accessLog.length === 1);
      expect(accessLog[0]).toMatchObject({ status, path: line.split(' ')[1] });
      client.socket.destroy();
    },
  );
});

describe('a client that leaves while its chunked body is still being read', () => {
  it('has its request logged, and nothing sent on to the target', async () => {
    let reached = 0;
    const { apiPort, accessLog } = await start({
      targets: [
        (_req, res) => {
          reached += 1;
          res.end();
        },
      ],
    });
    const client = rawConnection(apiPort);
    client.socket.write(
      `POST ${PATH} HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`,
    );
    await settle();
    client.socket.destroy();
    // The gateway holds a chunked body whole before it forwards it (request-body.ts): there is
    // no exchange with the target yet to stop, only the request to log.
    const posted = () => accessLog.find((l) => l.httpMethod === 'POST');
    await waitFor("the request's access-log line", () => posted() !== undefined);
    expect(posted()).toMatchObject({ path: PATH, routeKey: `ANY ${PATH}` });
    expect(reached).toBe(0);
  });
});

describe('a body announced by Content-Length', () => {
  it('is streamed to the target, whose early answer reaches the client before the body ends', async () => {
    const { apiPort, accessLog } = await start({
      targets: [
        (req, res) => {
          req.resume();
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
          res.end('early');
        },
      ],
    });
    const client = rawConnection(apiPort);
    client.socket.write(
      `POST ${PATH} HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 10\r\n\r\nhello`,
    );
    await waitFor("the target's answer", () => client.text.includes('early'));
    expect(client.text.startsWith('HTTP/1.1 200 OK')).toBe(true);
    client.socket.write('world');
    await waitFor('the access-log line', () => accessLog.length === 1);
    expect(accessLog[0]).toMatchObject({ status: '200', integrationStatus: '200' });
    client.socket.destroy();
  });
});

describe('CONNECT', () => {
  it('is logged with its method, target and protocol', async () => {
    const { apiPort, accessLog } = await start({});
    const reply = await rawExchange(
      apiPort,
      Buffer.from('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
      GUARD_MS,
    );
    expect(reply.status).toBe(404);
    await waitFor('its access-log line', () => accessLog.length === 1);
    expect(accessLog[0]).toMatchObject({
      requestId: reply.headers['apigw-requestid'],
      httpMethod: 'CONNECT',
      path: 'example.com:443',
      protocol: 'HTTP/1.1',
      status: '404',
    });
  });
});

describe('the console observer', () => {
  it('is told of each request when the access log is turned off', async () => {
    const observed: AccessLogRecord[] = [];
    const observer = { active: true, served: (record: AccessLogRecord) => observed.push(record) };
    const { apiUrl } = await start({ accessLog: false, observer });
    const reply = await request(`${apiUrl}/nope`);
    expect(reply.status).toBe(404);
    await waitFor('the observer', () => observed.length === 1);
    expect(observed[0]).toMatchObject({
      requestId: reply.headers['apigw-requestid'],
      status: 404,
      path: '/nope',
      errorMessage: 'Not Found',
    });
  });
});
