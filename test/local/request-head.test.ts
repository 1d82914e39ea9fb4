// What the two hops read from a request's head (scripts/local/http/request-head.ts): the
// headers passed upstream and the ones a proxy drops or sets itself, the values acted on, the
// head's size as sent (API Gateway's 10,240-byte quota is counted on it: compared here with the
// bytes a client wrote to node:http), the absolute-form target (RFC 9112 §3.2.2), the Host's
// name, and which requests are HTTP/1.1 requests a server serves (RFC 9112 §3.2).
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  headBytes,
  hostname,
  isHttp11Request,
  readRequestHead,
  toOriginForm,
} from '../../scripts/local/http/request-head.ts';

/** The request node:http's server parsed from `raw` (a whole head), and the head's bytes. */
async function parsed(raw: string): Promise<IncomingMessage> {
  const server = http.createServer();
  const request = new Promise<IncomingMessage>((resolve) =>
    server.once('request', (req: IncomingMessage, res: http.ServerResponse) => {
      resolve(req);
      res.end();
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  socket.on('error', () => {});
  socket.end(raw);
  try {
    return await request;
  } finally {
    socket.destroy();
    server.close();
  }
}

/** The request line and header lines of `raw`, each with its CRLF: the bytes the quota counts. */
const sentHeadBytes = (raw: string) => Buffer.byteLength(raw.slice(0, raw.indexOf('\r\n\r\n') + 2));

const fakeRequest = (over: Partial<IncomingMessage>) => ({ ...over }) as IncomingMessage;

describe('the fields a Connection header names (RFC 9110 §7.6.1)', () => {
  const keptNames = (raw: string[][]) =>
    readRequestHead(raw.flat()).kept.filter((_, i) => i % 2 === 0);

  it('are dropped whichever of several Connection headers names them', () => {
    expect(
      keptNames([
        ['Connection', 'X-Hop'],
        ['Connection', 'close'],
        ['X-Hop', '1'],
        ['Accept', '*/*'],
      ]),
    ).toEqual(['Accept']);
    expect(
      keptNames([
        ['Connection', 'close'],
        ['Connection', 'x-hop, X-Other'],
        ['X-Other', '2'],
        ['x-hop', '1'],
        ['Accept', '*/*'],
      ]),
    ).toEqual(['Accept']);
  });

  it('except Content-Length, which frames the body this hop sends on', () => {
    expect(
      keptNames([
        ['Connection', 'Content-Length, X-Hop'],
        ['Content-Length', '5'],
        ['X-Hop', '1'],
      ]),
    ).toEqual(['Content-Length']);
  });
});

describe('the headers read in one pass', () => {
  const raw = [
    ['Host', 'api.example.com:8080'],
    ['X-Forwarded-For', '203.0.113.7'],
    ['x-forwarded-for', '198.51.100.2'],
    ['X-Forwarded-Proto', 'http'],
    ['X-Forwarded-Port', '80'],
    ['Connection', 'keep-alive'],
    ['Keep-Alive', 'timeout=5'],
    ['Proxy-Connection', 'keep-alive'],
    ['Upgrade', 'h2c'],
    ['TE', 'trailers'],
    ['Expect', '100-continue'],
    ['Transfer-Encoding', 'chunked'],
    ['X-Amzn-Trace-Id', 'Root=1-5759e988-bd862e3fe1be46a994272793'],
    ['User-Agent', 'curl/8.5.0'],
    ['Content-Length', '5'],
    ['Date', 'Mon, 07 Dec 2026 16:00:00 GMT'],
    ['Accept', 'application/json'],
    ['X-Request-Id-Of-A-Client', 'abc'],
  ].flat();

  it('keeps for upstream what a proxy passes on, in order, with names as sent', () => {
    expect(readRequestHead(raw).kept).toEqual([
      'User-Agent',
      'curl/8.5.0',
      'Content-Length',
      '5',
      'Date',
      'Mon, 07 Dec 2026 16:00:00 GMT',
      'Accept',
      'application/json',
      'X-Request-Id-Of-A-Client',
      'abc',
    ]);
  });

  it('reads the values acted on, and joins X-Forwarded-For lines in order', () => {
    expect(readRequestHead(raw)).toMatchObject({
      host: 'api.example.com:8080',
      forwardedFor: '203.0.113.7, 198.51.100.2',
      traceId: 'Root=1-5759e988-bd862e3fe1be46a994272793',
      userAgent: 'curl/8.5.0',
      contentLength: 5,
      hasBody: true,
    });
  });

  it('counts each header line as sent: name, colon, space, value, CRLF', () => {
    let expected = 0;
    for (let i = 0; i < raw.length; i += 2) expected += `${raw[i]}: ${raw[i + 1]}\r\n`.length;
    expect(readRequestHead(raw).fieldBytes).toBe(expected);
  });

  it.each([
    ['no framing header', [], false],
    ['Content-Length: 0', ['Content-Length', '0'], false],
    ['Content-Length: 1', ['Content-Length', '1'], true],
    ['Transfer-Encoding: chunked', ['Transfer-Encoding', 'chunked'], true],
  ])('has a body with %s: %s', (_, fields, hasBody) => {
    expect(readRequestHead(['Host', 'h', ...fields]).hasBody).toBe(hasBody);
  });

  it('of a head with no headers: nothing kept, nothing read', () => {
    expect(readRequestHead([])).toEqual({
      kept: [],
      host: '',
      forwardedFor: '',
      traceId: '',
      userAgent: '',
      contentLength: -1,
      hasBody: false,
      otherCoding: false,
      fieldBytes: 0,
    });
  });
});

describe("the head's size as sent", () => {
  it.each([
    'GET /api/books HTTP/1.1\r\nHost: localhost:3000\r\n\r\n',
    'GET /api/books/3?x=1&y=%20 HTTP/1.1\r\nHost: a\r\nUser-Agent: k6\r\nAccept: */*\r\n\r\n',
    `POST /api/authors HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nX-Pad: ${'p'.repeat(9000)}\r\n\r\n{}`,
    'DELETE /x HTTP/1.1\r\nhost: a\r\nX-Forwarded-For: 10.0.0.1\r\nConnection: close\r\n\r\n',
  ])('is the bytes a client wrote: %#', async (raw) => {
    const req = await parsed(raw);
    expect(headBytes(req, readRequestHead(req.rawHeaders))).toBe(sentHeadBytes(raw));
  });

  it('counts a request Node parsed without a method or target as neither', () => {
    const head = readRequestHead(['Host', 'a']);
    expect(headBytes(fakeRequest({}), head)).toBe(12 + 'Host: a\r\n'.length);
    expect(headBytes(fakeRequest({ method: 'GET', url: '/' }), head)).toBe(
      'GET / HTTP/1.1\r\nHost: a\r\n'.length,
    );
  });
});

describe('an absolute-form target', () => {
  it.each([
    ['http://api.example.com/api/books?limit=2', 'api.example.com', '/api/books?limit=2'],
    ['HTTPS://Api.Example.com:8443/api/books/3', 'Api.Example.com:8443', '/api/books/3'],
    ['http://api.example.com', 'api.example.com', '/'],
    ['http://api.example.com?limit=2', 'api.example.com', '/?limit=2'],
    ['http://api.example.com?next=/api/books', 'api.example.com', '/?next=/api/books'],
    ['http://api.example.com/a?b=?c', 'api.example.com', '/a?b=?c'],
  ])('%s: authority %s, target %s', (url, authority, target) => {
    const req = fakeRequest({ url });
    expect(toOriginForm(req)).toBe(authority);
    expect(req.url).toBe(target);
  });

  it.each([
    '/api/books',
    '/redirect?to=http://elsewhere.example/',
    '*',
    'ftp://files.example/x',
    'api.example.com:443',
    'x=http://elsewhere.example/',
    '',
  ])('%j is not one, and stays as it is', (url) => {
    const req = fakeRequest({ url });
    expect(toOriginForm(req)).toBeUndefined();
    expect(req.url).toBe(url);
  });

  it('without a target at all is not one', () => {
    expect(toOriginForm(fakeRequest({}))).toBeUndefined();
  });
});

describe("the Host's name", () => {
  it.each([
    ['api.example.com', 'api.example.com'],
    ['API.Example.com:8080', 'api.example.com'],
    ['[::1]:3000', '[::1]'],
    ['[::1]', '[::1]'],
    ['[2001:DB8::1]:80', '[2001:db8::1]'],
  ])('%s is %s', (host, name) => {
    expect(hostname(host)).toBe(name);
  });
});

describe('an HTTP/1.1 request a server serves', () => {
  const req = (major: number, minor: number, host?: string) =>
    fakeRequest({
      httpVersionMajor: major,
      httpVersionMinor: minor,
      headers: host === undefined ? {} : { host },
    });

  it.each([
    ['HTTP/1.1 with a Host', req(1, 1, 'a'), true],
    ['HTTP/1.1 with an empty Host', req(1, 1, ''), true],
    ['HTTP/1.1 without a Host', req(1, 1), false],
    ['HTTP/1.0 without a Host', req(1, 0), true],
    ['HTTP/0.9', req(0, 9), false],
    ['HTTP/2.0 on an HTTP/1 connection', req(2, 0, 'a'), false],
  ])('%s: %s', (_, request, served) => {
    expect(isHttp11Request(request)).toBe(served);
  });
});
