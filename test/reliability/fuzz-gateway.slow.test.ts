// Property-based fuzzing through the whole local chain, over real sockets: random methods,
// request targets (percent-encoding, raw unicode, very long, traversal, `//`), query strings,
// headers and bodies, written byte for byte on a fresh connection, for three route families:
// /api/books*, /api/authors* and paths no route matches. Whatever is sent, the answer is one of:
// - the service's: a 2xx (JSON when it has a body) or a 4xx `application/problem+json` whose
//   `status` is the HTTP status;
// - the gateway's own error, in API Gateway's shape: 404, 413, 429 or 431 (a head over the
//   10,240-byte quota), `application/json`, exactly `{"message": "..."}`;
// - the gateway's 400 (or 431) in the same shape for bytes node:http's parser refuses, which
//   is accepted only when a plain node:http server with the same limits refuses the same bytes
//   too: the request was malformed at the HTTP level.
// Never a 5xx (none is expected of a healthy stack), a 3xx, no answer, an answer without the
// gateway's request id (node:http's own bare 400), or a stack trace.
//
// The seed is fixed and printed; FC_SEED replays another, FC_RUNS runs longer.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { type RawReply, rawExchange } from '../helpers/http.ts';
import {
  FIXTURE_PATH,
  fixtureWorkspace,
  fuzzSettings,
  NO_THROTTLING,
  quietStack,
  stackForSuite,
} from './helpers.ts';

const {
  seed: SEED,
  numRuns: NUM_RUNS,
  replay: REPLAY,
} = fuzzSettings('test/reliability/fuzz-gateway.slow.test.ts', 20_260_713);
const EXCHANGE_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------- generators

interface FuzzCase {
  method: string;
  target: string;
  headers: [string, string][];
  host: boolean;
  body: { size: number; chunked: boolean; declaredOnly: boolean } | undefined;
}

const percentJunk = fc.constantFrom(
  '%',
  '%2',
  '%ZZ',
  '%00',
  '%0d%0a',
  '%2f',
  '%5c',
  '%2e%2e%2f',
  '..%2f',
  '%c0%af',
  '%ff%fe',
  '%25',
  '%E0%A4%A',
  '%F0%9F%98%80',
);
const rawUnicode = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 });
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -5, max: 10 }).map(String) },
  { weight: 2, arbitrary: fc.constantFrom('health', 'openapi.json', '', '.', '..', '...') },
  { weight: 2, arbitrary: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String) },
  { weight: 2, arbitrary: percentJunk },
  // UTF-8 on the wire, unencoded: Node's parser refuses some of these bytes.
  { weight: 1, arbitrary: rawUnicode },
  { weight: 1, arbitrary: rawUnicode.map((s) => encodeURIComponent(s)) },
  { weight: 1, arbitrary: fc.constantFrom('{id}', ':id', '*', '~', ';x=1', '@', '$', "'", '"') },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~-]{1,30}$/) },
  // Very long: up to past Node's 16 KiB head limit.
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1_000, max: 18_000 }).map((n) => 'x'.repeat(n)),
  },
);
const extraPath = fc
  .array(segment, { maxLength: 4 })
  .chain((segments) =>
    fc
      .constantFrom('/', '//', '/../', '/./')
      .map((sep) => (segments.length === 0 ? '' : `${sep}${segments.join(sep)}`)),
  );
const queryPart = fc.oneof(
  fc.constantFrom('limit', 'offset', 'id', '__proto__', 'constructor', 'limit[]', ''),
  fc.integer({ min: -3, max: 1_000 }).map(String),
  percentJunk,
  fc.stringMatching(/^[A-Za-z0-9=&;#-]{0,12}$/),
);
const query = fc.option(
  fc
    .array(fc.tuple(queryPart, fc.option(queryPart, { nil: undefined })), { maxLength: 5 })
    .map((pairs) => `?${pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&')}`),
  { nil: '' },
);

const method = fc.oneof(
  { weight: 10, arbitrary: fc.constant('GET') },
  { weight: 3, arbitrary: fc.constant('HEAD') },
  {
    weight: 4,
    arbitrary: fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'QUERY'),
  },
  { weight: 1, arbitrary: fc.constant('CONNECT') },
  // Lower case, unknown and invalid tokens: Node's parser refuses most of them.
  { weight: 1, arbitrary: fc.constantFrom('get', 'FOO', 'G ET', 'GET\t', 'PROPFIND', 'M-SEARCH') },
);

// Header values as they could arrive: printable ASCII, latin1 bytes, and (rarely) bytes the
// parser must refuse (NUL, a bare CR).
const headerValue = fc.oneof(
  { weight: 30, arbitrary: fc.stringMatching(/^[\x20-\x7e]{0,60}$/) },
  { weight: 4, arbitrary: fc.constantFrom(`$\{jndi:ldap://x/a}`, '() { :; }; echo x', '<b>x</b>') },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 9_000 }).map((n) => 'v'.repeat(n)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 8 }) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 8 })
      .map((codes) => String.fromCharCode(...codes)),
  },
);
const headerName = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.constantFrom(
      'x-request-id',
      'x-amzn-trace-id',
      'content-type',
      'accept',
      'cookie',
      'user-agent',
      'x-forwarded-for',
      'x-forwarded-proto',
      'forwarded',
      'authorization',
      'origin',
      'range',
      'expect',
      'transfer-encoding',
      'upgrade',
      'x-http-method-override',
    ),
  },
  { weight: 10, arbitrary: fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/) },
  // Not a token: the parser must refuse it.
  { weight: 1, arbitrary: fc.constantFrom('bad header', 'x:y', 'ü') },
);
const headers = fc.array(fc.tuple(headerName, headerValue), { maxLength: 4 });

const body = fc.option(
  fc.record({
    size: fc.oneof(
      fc.integer({ min: 0, max: 64 }),
      fc.integer({ min: 16 * 1024 - 2, max: 16 * 1024 + 2 }),
      fc.integer({ min: 0, max: 48 * 1024 }),
    ),
    chunked: fc.boolean(),
    // Content-Length past the stage's 10 MB quota, and no body sent: the gateway's 413.
    declaredOnly: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  }),
  { nil: undefined, freq: 3 },
);

function fuzzCase(pathArbitrary: fc.Arbitrary<string>): fc.Arbitrary<FuzzCase> {
  return fc.record({
    method,
    target: fc.tuple(pathArbitrary, query).map(([p, q]) => `${p}${q}`),
    headers,
    // HTTP/1.1 requires Host: without one, Node's parser answers 400.
    host: fc.integer({ min: 0, max: 19 }).map((n) => n !== 0),
    body,
  });
}

const family = (prefix: string) =>
  extraPath.map((extra) => `${prefix}${extra}`) as fc.Arbitrary<string>;

const unmatchedPath = fc.oneof(
  fc.constantFrom(
    '/',
    '*',
    '//api/books',
    '/api',
    '/api/',
    '/API/books',
    '/api/books%2f1',
    '/api/booksx',
    '/api/authorsx/1',
    '/./api/books',
    '/api/../api/books',
    // Absolute-form is accepted (RFC 9112 §3.2.2) and routed by its path: not one of ours.
    'http://example.com/api/booksx',
    '/%2e%2e/etc/passwd',
  ),
  extraPath.map((extra) => `/nope${extra}`),
  fc.webPath(),
);

const FAMILIES = [
  ['/api/books*', family('/api/books')],
  ['/api/authors*', family('/api/authors')],
  ['unmatched paths', unmatchedPath],
] as const;

// ---------------------------------------------------------------- requests on the wire

/** The request exactly as written to the socket (latin1: one byte per char code). */
function toBytes(c: FuzzCase): Buffer {
  const lines = [`${c.method} ${c.target} HTTP/1.1`];
  if (c.host) lines.push('Host: fuzz.example.com');
  for (const [name, value] of c.headers) {
    // Framing stays ours: the body and the connection are decided below.
    if (/^(content-length|transfer-encoding|connection|expect)$/i.test(name)) continue;
    lines.push(`${name}: ${value}`);
  }
  let payload = Buffer.alloc(0);
  if (c.body !== undefined) {
    const data = Buffer.alloc(c.body.size, 'b');
    if (c.body.declaredOnly) lines.push(`Content-Length: ${10 * 1024 * 1024 + 1}`);
    else if (c.body.chunked) {
      lines.push('Transfer-Encoding: chunked');
      payload = Buffer.concat([
        data.length > 0 ? Buffer.from(`${data.length.toString(16)}\r\n`) : Buffer.alloc(0),
        data,
        Buffer.from(data.length > 0 ? '\r\n0\r\n\r\n' : '0\r\n\r\n'),
      ]);
    } else {
      lines.push(`Content-Length: ${data.length}`);
      payload = data;
    }
  }
  lines.push('Connection: close');
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

/** A plain node:http server with the gateway's parser limits: what Node itself refuses. */
class Reference {
  server = http.createServer({ headersTimeout: 2_000, requestTimeout: 4_000 }, (req, res) => {
    req.resume();
    res.writeHead(200, { 'x-reference': '1', connection: 'close' });
    res.end();
  });
  // CONNECT is a valid request the handler never sees: answer it as accepted.
  constructor() {
    this.server.on('connect', (_req, socket) => {
      socket.on('error', () => {});
      socket.end('HTTP/1.1 200 OK\r\nx-reference: 1\r\nconnection: close\r\n\r\n');
    });
  }
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  async refuses(bytes: Buffer): Promise<boolean> {
    const reply = await rawExchange(this.port, bytes, EXCHANGE_TIMEOUT_MS);
    return reply.headers['x-reference'] === undefined;
  }
}

// ---------------------------------------------------------------- the property

const STACK_TRACE = [/\n\s+at\s/, /node:internal/, /\.ts:\d+/, /\bError: /];

/** What is wrong with the answer to `c`, or undefined. */
async function judge(
  c: FuzzCase,
  reply: RawReply,
  parserRefuses: () => Promise<boolean>,
): Promise<string | undefined> {
  const { status, headers } = reply;
  const text = reply.body.toString('latin1');
  if (reply.timedOut) return `no answer within ${EXCHANGE_TIMEOUT_MS} ms`;
  if (status === undefined) return 'the connection closed without an answer';
  for (const pattern of STACK_TRACE) {
    if (pattern.test(text)) return `the body looks like a stack trace: ${text.slice(0, 200)}`;
  }
  if (text.includes(repoRoot)) return 'the body names a path on this machine';
  if (status >= 500) return `a ${status}: ${text.slice(0, 200)}`;
  if (status >= 300 && status < 400) return `a ${status} redirect`;

  // node:http's own answers (a bare 400 or 431) carry no request id: the gateway answers all.
  if (headers['apigw-requestid'] === undefined)
    return `a ${status} without the gateway's request id`;
  if (status === 400 && headers['x-local-target'] === undefined && !(await parserRefuses())) {
    return "the gateway's 400, yet a plain node:http server accepts the same bytes";
  }

  const hasBody = c.method !== 'HEAD' && text !== '';
  if (headers['x-local-target'] !== undefined) {
    // The service's answer, relayed.
    if (status < 300) {
      if (hasBody && !headers['content-type']?.startsWith('application/json')) {
        return `a ${status} in ${headers['content-type']}`;
      }
      return undefined;
    }
    if (headers['content-type'] !== 'application/problem+json') {
      return `a service ${status} in ${headers['content-type']}, not problem+json`;
    }
    if (!hasBody) return undefined;
    let problem: Record<string, unknown>;
    try {
      problem = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return `a problem+json ${status} that is not JSON`;
    }
    for (const member of ['type', 'title', 'detail']) {
      if (typeof problem[member] !== 'string') return `a problem without a string ${member}`;
    }
    if (problem.status !== status) return `a ${status} whose problem says ${problem.status}`;
    return undefined;
  }

  // The gateway's own error.
  if (![400, 404, 413, 429, 431].includes(status)) return `a gateway ${status}`;
  if (headers['content-type'] !== 'application/json') {
    return `a gateway ${status} in ${headers['content-type']}`;
  }
  if (!hasBody) return undefined;
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return `a gateway ${status} that is not JSON: ${text.slice(0, 100)}`;
  }
  const keys = typeof message === 'object' && message !== null ? Object.keys(message) : [];
  if (keys.length !== 1 || typeof (message as { message?: unknown }).message !== 'string') {
    return `a gateway ${status} not shaped {"message": ...}: ${text.slice(0, 100)}`;
  }
  return undefined;
}

interface Tally {
  byKind: Map<string, number>;
}

function kindOf(reply: RawReply): string {
  if (reply.headers['apigw-requestid'] === undefined) return `bare ${reply.status}`;
  if (reply.headers['x-local-target'] !== undefined) return `service ${reply.status}`;
  // The gateway's 400: bytes node:http's parser refused (the judge has checked it).
  if (reply.status === 400) return 'parser 400';
  return `gateway ${reply.status}`;
}

function property(
  apiPort: () => number,
  reference: Reference,
  arbitrary: fc.Arbitrary<FuzzCase>,
  tally: Tally,
) {
  return fc.asyncProperty(arbitrary, async (c) => {
    const bytes = toBytes(c);
    const reply = await rawExchange(apiPort(), bytes, EXCHANGE_TIMEOUT_MS);
    const kind = kindOf(reply);
    tally.byKind.set(kind, (tally.byKind.get(kind) ?? 0) + 1);
    const problem = await judge(c, reply, () => reference.refuses(bytes));
    if (problem !== undefined) {
      throw new Error(
        `${problem}\nrequest: ${JSON.stringify(bytes.toString('latin1').slice(0, 600))}`,
      );
    }
  });
}

// ---------------------------------------------------------------- the tests

const reference = new Reference();

beforeAll(async () => {
  await new Promise<void>((resolve) => reference.server.listen(0, '127.0.0.1', resolve));
  console.log(
    `fuzz-gateway: seed ${SEED} (+0, +1, +2 per family), ${NUM_RUNS} runs per route family; replay: ${REPLAY}`,
  );
});

afterAll(() => {
  reference.server.closeAllConnections();
  reference.server.close();
});

describe('fuzzing through the HTTP API', () => {
  // A declared body never sent keeps its early answer's connection open until the client has
  // been silent this long: short, as this client waits for the close.
  const suite = stackForSuite({
    healthCheckScale: 0.1,
    accessLog: false,
    clientTimeouts: { lingerMs: 100 },
  });
  const port = () => Number(new URL(suite.stack.apiUrl).port);

  it.each(FAMILIES)(
    '%s: every answer is the service’s, the gateway’s or the parser’s, never a 5xx',
    async (name, paths) => {
      const tally: Tally = { byKind: new Map() };
      const started = performance.now();
      // One seed per family, so the families do not draw the same sequence of cases.
      const seed = SEED + FAMILIES.findIndex(([n]) => n === name);
      await fc.assert(property(port, reference, fuzzCase(paths), tally), {
        seed,
        numRuns: NUM_RUNS,
      });
      const kinds = [...tally.byKind].sort(([a], [b]) => a.localeCompare(b));
      console.log(
        `fuzz-gateway ${name}: ${NUM_RUNS} runs in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
          kinds.map(([k, n]) => `${k}: ${n}`).join(', '),
      );
      // The generators reach each kind of answer the property distinguishes.
      const seen = kinds.map(([k]) => k.split(' ')[0]);
      expect(seen).toContain('parser');
      expect(seen).toContain('gateway');
      if (name !== 'unmatched paths') expect(seen).toContain('service');
    },
    60_000,
  );
});

describe('the same property on deliberate breaks', () => {
  const ok = { apigw: 'abcdefghijklmno=' };
  const reply = (status: number, headers: Record<string, string>, body: string): RawReply => ({
    status,
    headers,
    body: Buffer.from(body),
    received: body.length,
    timedOut: false,
  });
  const get: FuzzCase = { method: 'GET', target: '/x', headers: [], host: true, body: undefined };
  const accepted = async () => false;

  it.each([
    [
      'a gateway error not in API Gateway shape',
      reply(
        404,
        { 'apigw-requestid': ok.apigw, 'content-type': 'application/json' },
        '{"error":"x"}',
      ),
    ],
    [
      "the ALB's 502 page",
      reply(502, { 'apigw-requestid': ok.apigw, server: 'awselb/2.0' }, '<html>502</html>'),
    ],
    [
      'a service 404 in HTML',
      reply(
        404,
        { 'apigw-requestid': ok.apigw, 'x-local-target': 't', 'content-type': 'text/html' },
        '<h1>no</h1>',
      ),
    ],
    [
      'a problem whose status differs',
      reply(
        400,
        {
          'apigw-requestid': ok.apigw,
          'x-local-target': 't',
          'content-type': 'application/problem+json',
        },
        '{"type":"about:blank","title":"x","detail":"y","status":404}',
      ),
    ],
    ['a bare 400 from node:http', reply(400, {}, '')],
    [
      "the gateway's 400 for bytes Node accepts",
      reply(
        400,
        { 'apigw-requestid': ok.apigw, 'content-type': 'application/json' },
        '{"message":"Bad Request"}',
      ),
    ],
    ['no answer', { ...reply(0, {}, ''), status: undefined }],
  ])('judges %s a violation', async (_name, broken) => {
    expect(await judge(get, broken, accepted)).toBeDefined();
  });

  it('fails on a service answering HTML 404s and 500s with a stack trace', async () => {
    const fixture = fixtureWorkspace({ realServices: false });
    const stack = await quietStack(fixture.root, {
      parameters: NO_THROTTLING,
      env: { FIXTURE_MODE: 'broken-errors' },
    });
    try {
      const port = Number(new URL(stack.apiUrl).port);
      const result = await fc.check(
        property(() => port, reference, fuzzCase(family(FIXTURE_PATH)), { byKind: new Map() }),
        { seed: SEED, numRuns: 200 },
      );
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toMatch(/not problem\+json|stack trace|a 500/);
    } finally {
      await stack.stop();
      fixture.remove();
    }
  }, 30_000);
});
