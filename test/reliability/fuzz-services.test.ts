// Property-based fuzzing of both services, in process (app.fetch, no sockets): random ids,
// query strings, headers, methods, bodies and extra path segments against every route. The
// promise under test is the one the ALB and API Gateway rely on: bad input never breaks a
// service. Whatever arrives, the answer is a 2xx with JSON or a 4xx problem+json whose
// `status` equals the HTTP status, never a 5xx, and never a stack trace or a file path.
//
// The seed is fixed so CI is reproducible; FC_SEED replays another run, FC_RUNS runs longer.
// Requests go through `new Request()`, which parses the URL as WHATWG URL does, as
// @hono/node-server also does with every request it receives: inputs a real client could
// not send (a method the Request constructor refuses, a header byte above 0xFF) are not
// generated.
import type { OpenAPIHono } from '@hono/zod-openapi';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as authorService from '../../services/author-service/src/app.ts';
import { authors } from '../../services/author-service/src/data.ts';
import * as bookService from '../../services/book-service/src/app.ts';
import { books } from '../../services/book-service/src/data.ts';
import { booksRoutes } from '../../services/book-service/src/routes/books.ts';
import { MAX_ID } from '../../services/common/src/input-rules.ts';
import { createLifecycle } from '../../services/common/src/lifecycle.ts';
import { createLogger } from '../../services/common/src/logger.ts';
import { createServiceApp, MAX_BODY_BYTES } from '../../services/common/src/service-app.ts';
import { fuzzSettings } from './helpers.ts';

const {
  seed: SEED,
  numRuns: NUM_RUNS,
  replay: REPLAY,
} = fuzzSettings('test/reliability/fuzz-services.test.ts', 20_260_712);
/** A hung request fails its run instead of stalling the suite. */
const RUN_TIMEOUT_MS = 2_000;

/** What the fuzzer sends. `expectStatus` is set only where the generator knows the answer. */
interface FuzzRequest {
  path: string;
  method: string;
  headers: [string, string][];
  body: { size: number; fill: number; declareLength: boolean } | undefined;
  expectStatus: number | undefined;
}

type Fetcher = Pick<OpenAPIHono, 'fetch'>;

// ---------------------------------------------------------------- generators

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,24}$/;

/** Percent-encoding a decoder may choke on: truncated, non-hex, overlong, NUL, CRLF, slashes. */
const percentJunk = fc.constantFrom(
  '%',
  '%%',
  '%2',
  '%E0%A4%A',
  '%ZZ',
  '%00',
  '%0a',
  '%0d%0a',
  '%2f',
  '%2F',
  '%5c',
  '%2e%2e%2f',
  '..%2f',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '%c0%af',
  '%ff%fe',
  '%u002e',
  '%25',
  '%25%32%66',
  '%F0%9F%98',
);

/** Several KB of one unit: past any fixed buffer, still under Node's 16 KB header limit. */
const longValue = fc
  .tuple(fc.integer({ min: 1_024, max: 8_192 }), fc.constantFrom('9', 'a', '%2f', '\u00e9', '%'))
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)));

/** One piece of a path segment, query key or value, or header value. */
const chunk: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: -2, max: 20 }).map(String),
  fc.stringMatching(/^\d{1,40}$/),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String),
  fc.double().map(String),
  fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  percentJunk,
  fc.constantFrom('..', '.', '', '...', '.%2e', '%2e%2e', '~', '$', '{id}', ':id', '*'),
  longValue,
);

const segment = fc.array(chunk, { minLength: 1, maxLength: 3 }).map((parts) => parts.join(''));

const queryKey = fc.oneof(
  fc.constantFrom('limit', 'offset', 'limit', 'offset', 'limit[]', 'offset[0]', '__proto__'),
  fc.constantFrom('constructor', 'toString', 'id', ''),
  chunk,
);
const queryPart = fc.oneof(
  fc.tuple(queryKey, chunk).map(([key, value]) => `${key}=${value}`),
  queryKey,
  fc.constantFrom('&', '=', '==', '&&', ';', '+', '#'),
);
/** Few keys, drawn often: duplicated keys and empty values are common, as they should be. */
const query = fc.oneof(
  fc.constant(''),
  fc.array(queryPart, { maxLength: 6 }).map((parts) => `?${parts.join('&')}`),
);

/** A value as it arrives on the wire: UTF-8 bytes read as latin1, no NUL, CR or LF. */
const wireValue = (text: string) =>
  Buffer.from(text, 'utf8')
    .toString('latin1')
    .replace(/[\0\r\n]/g, '');

const headerName = fc.oneof(
  fc.constantFrom('x-request-id', 'x-amzn-trace-id', 'x-request-id', 'x-amzn-trace-id'),
  fc.constantFrom('content-type', 'accept', 'accept-encoding', 'x-forwarded-for', 'cookie'),
  fc.constantFrom('authorization', 'if-none-match', 'range', 'expect', 'origin', 'referer'),
  fc.stringMatching(TOKEN).filter((n) => !/^(host|content-length|transfer-encoding)$/i.test(n)),
);
const headerValue = fc.oneof(
  chunk,
  fc.constantFrom(
    'Root=1-67891233-abcdef012345678912345678',
    'a b\u0007',
    '\t',
    'application/json',
    'application/problem+json; charset=utf-16',
    '() { :; }; echo vulnerable',
    '<script>alert(1)</script>',
    // Log4Shell's lookup syntax, spelt without a template placeholder.
    ['$', '{jndi:ldap://127.0.0.1/a}'].join(''),
  ),
);
const headers = fc.array(
  fc.tuple(headerName, headerValue.map(wireValue)).map(([n, v]): [string, string] => [n, v]),
  { maxLength: 5 },
);

/** Weighted towards the methods a route has, with the rest and unknown tokens mixed in. */
const method = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('GET', 'HEAD') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'QUERY'),
  },
  { weight: 1, arbitrary: fc.constantFrom('get', 'head', 'post', 'put', 'patch', 'delete') },
  // The Request constructor refuses CONNECT, TRACE and TRACK, as Node's own client does.
  {
    weight: 1,
    arbitrary: fc.stringMatching(TOKEN).filter((m) => !/^(connect|trace|track)$/i.test(m)),
  },
);

/** Around the 16 KiB limit, where an off-by-one would show, plus small and far-over sizes. */
const body = fc.record({
  size: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 64 }),
    {
      weight: 3,
      arbitrary: fc.constantFrom(MAX_BODY_BYTES - 1, MAX_BODY_BYTES, MAX_BODY_BYTES + 1),
    },
    fc.integer({ min: MAX_BODY_BYTES - 16, max: MAX_BODY_BYTES + 16 }),
    fc.integer({ min: MAX_BODY_BYTES + 17, max: 3 * MAX_BODY_BYTES }),
  ),
  fill: fc.constantFrom(0x78, 0x00, 0xff, 0x7b),
  declareLength: fc.boolean(),
});

const carriesBody = (m: string) => !/^(get|head)$/i.test(m);

interface Target {
  path: string;
  /** The status for a GET or HEAD of this path, when the generator can know it. */
  getStatus?: number;
  /** A path a route answers: any other method gets 405. */
  known?: boolean;
}

function request(target: fc.Arbitrary<Target>): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({ target, method, headers, body: fc.option(body, { nil: undefined }) })
    .map(({ target: t, method: m, headers: h, body: b }) => {
      const withBody = carriesBody(m) ? b : undefined;
      let expectStatus: number | undefined;
      if (withBody && withBody.size > MAX_BODY_BYTES) expectStatus = 413;
      else if (!carriesBody(m)) expectStatus = t.getStatus;
      else if (t.known) expectStatus = 405;
      return { path: t.path, method: m, headers: h, body: withBody, expectStatus };
    });
}

interface ServiceUnderTest {
  name: string;
  basePath: string;
  itemCount: number;
  createApp: typeof bookService.createApp;
}

const SERVICES: ServiceUnderTest[] = [
  {
    name: bookService.SERVICE_NAME,
    basePath: bookService.BASE_PATH,
    itemCount: books.length,
    createApp: bookService.createApp,
  },
  {
    name: authorService.SERVICE_NAME,
    basePath: authorService.BASE_PATH,
    itemCount: authors.length,
    createApp: authorService.createApp,
  },
];

/** Ids whose answer is known, with leading zeros as the contract allows, and random garbage. */
function idTarget(base: string, itemCount: number): fc.Arbitrary<Target> {
  // Leading zeros are accepted up to 10 characters in all (MAX_ID's length); longer
  // zero-padded ids fall to the garbage class below, which checks only the invariants.
  const padded = (n: number | bigint) =>
    fc.nat({ max: 3 }).map((zeros) => `${'0'.repeat(Math.min(zeros, 10 - String(n).length))}${n}`);
  return fc
    .oneof(
      fc
        .integer({ min: 1, max: itemCount })
        .chain(padded)
        .map((id) => ({ id, getStatus: 200 })),
      // Just past the last item, where an off-by-one would show, and anywhere up to MAX_ID.
      fc
        .integer({ min: itemCount + 1, max: itemCount + 20 })
        .chain(padded)
        .map((id) => ({ id, getStatus: 404 })),
      fc
        .integer({ min: itemCount + 1, max: MAX_ID })
        .chain(padded)
        .map((id) => ({ id, getStatus: 404 })),
      fc.bigInt({ min: BigInt(MAX_ID) + 1n, max: 10n ** 30n }).map((n) => ({
        id: String(n),
        getStatus: 400,
      })),
      fc.constant({ id: '0', getStatus: 400 }),
      fc.tuple(segment, query).map(([id, q]) => ({ id: `${id}${q}`, getStatus: undefined })),
    )
    .chain(({ id, getStatus }) =>
      query.map((q) => {
        // A query string after a known id changes nothing; one inside the id already may.
        if (getStatus === undefined) return { path: `${base}/${id}` };
        return { path: `${base}/${id}${q}`, getStatus, known: true };
      }),
    );
}

function routes(service: ServiceUnderTest): [string, fc.Arbitrary<Target>][] {
  const base = service.basePath;
  const fixed = (path: string) => query.map((q) => ({ path: `${path}${q}`, known: true }));
  return [
    [`GET ${base}`, fixed(base)],
    [`GET ${base}/{id}`, idTarget(base, service.itemCount)],
    [`GET ${base}/health`, fixed(`${base}/health`)],
    [`GET ${base}/openapi.json`, fixed(`${base}/openapi.json`)],
    [
      // Extra segments below and beside the service's paths, traversal included.
      `${base}/** and /**`,
      fc
        .tuple(
          fc.constantFrom(base, `${base}/1`, `${base}/health`, '', '/api'),
          fc.array(segment, { minLength: 1, maxLength: 5 }),
          query,
        )
        .map(([prefix, parts, q]) => ({ path: `${prefix}/${parts.join('/')}${q}` })),
    ],
  ];
}

// ---------------------------------------------------------------- the property

function toRequest(r: FuzzRequest): Request {
  const init: RequestInit = { method: r.method, headers: new Headers() };
  const h = init.headers as Headers;
  for (const [name, value] of r.headers) h.append(name, value);
  if (r.body) {
    init.body = new Uint8Array(r.body.size).fill(r.body.fill);
    if (r.body.declareLength) h.set('content-length', String(r.body.size));
  }
  return new Request(`http://127.0.0.1${r.path.startsWith('/') ? '' : '/'}${r.path}`, init);
}

const REPO_ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Signs of an internal error in a body: V8 stack frames, module paths, error class names. */
const LEAKS: [string, RegExp][] = [
  ['a stack frame', /\bat (?:async )?[\w$.<>[\] ]+ \(.+:\d+:\d+\)|\n\s+at \S/],
  ['a source position', /\.(?:ts|js|mjs|cjs):\d+:\d+/],
  ['a module path', /node:internal|node_modules|file:\/\//],
  ['the repository path', new RegExp(escapeRegExp(REPO_ROOT))],
  ['an error name', /\b(?:Type|Range|Syntax|Reference|Zod|URI)?Error: /],
];

/** Hono's `c.req.path` decodes what it can; strip every spelling of the path it may echo. */
function withoutEcho(text: string, request: Request): string {
  const raw = new URL(request.url).pathname;
  const spellings = new Set([raw, request.method]);
  for (const decode of [decodeURI, decodeURIComponent]) {
    spellings.add(
      raw.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
        try {
          return decode(run);
        } catch {
          return run;
        }
      }),
    );
  }
  let out = text;
  for (const s of [...spellings].sort((a, b) => b.length - a.length)) {
    if (s !== '') out = out.split(s).join('');
  }
  return out;
}

const REQUEST_ID = /^[\w.:;=/+-]{1,200}$/;

/** Throws, with what was sent and received, when a response breaks the promise. */
async function checkExchange(app: Fetcher, fuzz: FuzzRequest): Promise<void> {
  const request = toRequest(fuzz);
  const isHead = request.method === 'HEAD';
  const response = await app.fetch(request);
  const text = await response.text();
  const { status } = response;
  const type = response.headers.get('content-type') ?? '';
  const fail = (why: string): never => {
    throw new Error(
      `${why}\n  sent: ${request.method} ${request.url.slice(0, 300)}\n  got: ${status} ${type} ${text.slice(0, 300)}`,
    );
  };

  if (status >= 500) fail('a 5xx');
  if (status < 200 || (status >= 300 && status < 400)) fail('neither a 2xx nor a 4xx');
  if (fuzz.expectStatus !== undefined && status !== fuzz.expectStatus) {
    fail(`expected ${fuzz.expectStatus}`);
  }
  if (isHead && text !== '') fail('a body in a HEAD response');

  if (status >= 400) {
    if (type !== 'application/problem+json') fail('a 4xx that is not application/problem+json');
    if (status === 405 && !response.headers.get('allow')) fail('a 405 without Allow');
    if (!isHead) {
      let problem: Record<string, unknown>;
      try {
        problem = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return fail('a problem+json body that is not JSON');
      }
      for (const member of ['type', 'title', 'detail'] as const) {
        if (typeof problem[member] !== 'string') fail(`problem member "${member}" is not a string`);
      }
      if (problem.status !== status) fail('problem "status" differs from the HTTP status');
    }
  } else {
    if (!/^application\/json\b/.test(type)) fail('a 2xx that is not application/json');
    if (!isHead) {
      try {
        JSON.parse(text);
      } catch {
        fail('a 2xx body that is not JSON');
      }
    }
  }

  const scanned = withoutEcho(text, request);
  for (const [what, pattern] of LEAKS) {
    if (pattern.test(scanned)) fail(`${what} in the body`);
  }
  const requestId = response.headers.get('x-request-id');
  if (requestId === null || !REQUEST_ID.test(requestId)) {
    fail(`an unsafe or missing x-request-id: ${JSON.stringify(requestId)}`);
  }
}

const property = (app: Fetcher, target: fc.Arbitrary<Target>) =>
  fc.asyncProperty(request(target), (r) => checkExchange(app, r));

const runParameters = { seed: SEED, numRuns: NUM_RUNS, timeout: RUN_TIMEOUT_MS };

const quiet = () => ({
  lifecycle: createLifecycle(),
  logger: createLogger({ service: 'fuzz', level: 'silent' }),
});

// ---------------------------------------------------------------- the runs

const timings: string[] = [];

beforeAll(() => {
  console.log(
    `fuzz: seed ${SEED}, ${NUM_RUNS} runs per route (override: FC_SEED=<n> FC_RUNS=<n>); replay: ${REPLAY}`,
  );
});

afterAll(() => {
  if (timings.length > 0) console.log(`fuzz timings (seed ${SEED}):\n  ${timings.join('\n  ')}`);
});

describe.each(SERVICES)('$name: every route survives random input', (service) => {
  it.each(routes(service))('%s', async (name, target) => {
    const app = service.createApp(quiet());
    const started = performance.now();
    await fc.assert(property(app, target), runParameters);
    const ms = Math.round(performance.now() - started);
    timings.push(`${service.name} ${name}: ${NUM_RUNS} runs in ${ms} ms`);
  });
});

// ---------------------------------------------------------------- the property can fail

/** Runs the same property, same seed and budget, over a broken app; returns the first failure. */
async function firstFailure(app: Fetcher, target: fc.Arbitrary<Target>): Promise<string> {
  const details = await fc.check(property(app, target), runParameters);
  if (!details.failed) throw new Error('the property held on a deliberately broken app');
  return String(details.errorInstance);
}

/** The real service with one behaviour changed: every other promise still holds. */
function broken(
  service: ServiceUnderTest,
  change: (res: Response, req: Request) => Response | Promise<Response>,
): Fetcher {
  const app = service.createApp(quiet());
  return { fetch: async (req: Request) => change(await app.fetch(req), req) };
}

/** A copy of `res` with another body (and content-type), keeping its other headers. */
function rebody(res: Response, body: string, type?: string): Response {
  const headers = new Headers(res.headers);
  if (type) headers.set('content-type', type);
  return new Response(body, { status: res.status, headers });
}

describe('each break is caught, with the same seed and budget', () => {
  const book = SERVICES[0] as ServiceUnderTest;
  const target = (suffix: string) =>
    (routes(book).find(([name]) => name.endsWith(suffix)) as [string, fc.Arbitrary<Target>])[1];

  it('a route that throws on one id (a 5xx, from the real error handler)', async () => {
    // The real middleware, error handler and routes, plus a check in front of the item route.
    const app = createServiceApp({
      ...quiet(),
      title: 'broken',
      version: '0',
      description: 'throws on id 13',
      basePath: book.basePath,
      routes: (r) => {
        r.use(`${book.basePath}/:id`, async (c, next) => {
          if (Number(c.req.param('id')) === 13) throw new Error('boom');
          await next();
        });
        booksRoutes(r, book.basePath);
      },
    });
    expect(await firstFailure(app, target('/{id}'))).toMatch(/a 5xx/);
  });

  it('a 404 in HTML instead of problem+json', async () => {
    const app = broken(book, (res) =>
      res.status === 404 ? rebody(res, '<h1>Not Found</h1>', 'text/html') : res,
    );
    expect(await firstFailure(app, target('/**'))).toMatch(/not application\/problem\+json/);
  });

  it('a problem whose status member differs from the HTTP status', async () => {
    const app = broken(book, async (res) => {
      if (res.status !== 404) return res;
      const body = (await res.json()) as Record<string, unknown>;
      return rebody(res, JSON.stringify({ ...body, status: 400 }));
    });
    expect(await firstFailure(app, target('/**'))).toMatch(/differs from the HTTP status/);
  });

  it('a problem that carries a stack trace', async () => {
    const app = broken(book, async (res) => {
      if (res.status !== 400) return res;
      const body = (await res.json()) as Record<string, unknown>;
      return rebody(res, JSON.stringify({ ...body, detail: new TypeError('bad id').stack }));
    });
    expect(await firstFailure(app, target('/{id}'))).toMatch(/stack frame|source position/);
  });

  it('a 405 without Allow', async () => {
    const app = broken(book, (res) => {
      if (res.status !== 405) return res;
      const copy = new Response(res.body, res);
      copy.headers.delete('allow');
      return copy;
    });
    expect(await firstFailure(app, target('/health'))).toMatch(/405 without Allow/);
  });

  it('a 2xx that is not JSON', async () => {
    const app = broken(book, (res) => (res.status === 200 ? rebody(res, 'OK', 'text/plain') : res));
    expect(await firstFailure(app, target('/health'))).toMatch(/2xx that is not application\/json/);
  });

  it('a service without the body limit', async () => {
    const app = book.createApp(quiet());
    const unlimited: Fetcher = {
      // Drops the body before the app sees it, as a service without the limit would ignore it.
      fetch: (req: Request) => {
        const headers = new Headers(req.headers);
        headers.delete('content-length');
        return app.fetch(new Request(req.url, { method: req.method, headers }));
      },
    };
    expect(await firstFailure(unlimited, target('GET /api/books'))).toMatch(/expected 413/);
  });

  it('a service that echoes any x-request-id', async () => {
    const app = broken(book, (res, req) => {
      const given = req.headers.get('x-request-id');
      if (given === null) return res;
      const copy = new Response(res.body, res);
      copy.headers.set('x-request-id', given);
      return copy;
    });
    expect(await firstFailure(app, target('GET /api/books'))).toMatch(
      /unsafe or missing x-request-id/,
    );
  });
});

describe('the generators reach every class of input within the budget', () => {
  const book = SERVICES[0] as ServiceUnderTest;
  const real = book.createApp(quiet());
  const all = routes(book);
  const byName = (suffix: string) =>
    (all.find(([name]) => name.endsWith(suffix)) as [string, fc.Arbitrary<Target>])[1];

  /** An app that answers 500 when `trap` matches: the fuzzer must reach that input. */
  const trapped = (trap: (req: Request, url: string) => boolean): Fetcher => ({
    fetch: (req: Request) =>
      trap(req, req.url) ? new Response('trap', { status: 500 }) : real.fetch(req),
  });
  const pathOf = (url: string) => new URL(url).pathname;
  const searchOf = (url: string) => new URL(url).search;

  it.each<[string, string, (req: Request, url: string) => boolean]>([
    ['an id of several KB', '/{id}', (_r, u) => pathOf(u).length > 4_096],
    ['an invalid percent sequence', '/{id}', (_r, u) => /%(?![0-9A-Fa-f]{2})/.test(pathOf(u))],
    ['an encoded traversal', '/** and /**', (_r, u) => /\.\.%2f/i.test(pathOf(u))],
    ['a non-ASCII id', '/{id}', (_r, u) => /%[89A-F][0-9A-F]/i.test(pathOf(u))],
    ['a negative id', '/{id}', (_r, u) => /\/api\/books\/-\d/.test(pathOf(u))],
    ['a number past 2^64', '/{id}', (_r, u) => /\/\d{21,}(?:$|\/)/.test(pathOf(u))],
    ['a duplicated query key', '/api/books', (_r, u) => /[?&]limit=.*&limit=/.test(searchOf(u))],
    ['an empty query value', '/api/books', (_r, u) => /[?&](limit|offset)=(&|$)/.test(searchOf(u))],
    [
      'an x-request-id over 1 KB',
      '/health',
      (r) => (r.headers.get('x-request-id') ?? '').length > 1_024,
    ],
    [
      'a garbage x-amzn-trace-id',
      '/health',
      (r) => /[^\w=;-]/.test(r.headers.get('x-amzn-trace-id') ?? 'ok'),
    ],
    [
      'a lowercase or unknown method',
      '/openapi.json',
      (r) => !/^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|QUERY)$/.test(r.method),
    ],
    [
      'a body one byte over the limit',
      '/api/books',
      (r) => r.headers.get('content-length') === String(MAX_BODY_BYTES + 1),
    ],
    [
      'a body exactly at the limit',
      '/api/books',
      (r) => r.headers.get('content-length') === String(MAX_BODY_BYTES),
    ],
    [
      'a chunked body (no content-length)',
      '/api/books',
      (r) => r.body !== null && !r.headers.has('content-length'),
    ],
    ['three extra path segments', '/** and /**', (_r, u) => pathOf(u).split('/').length >= 7],
  ])('%s', async (_what, route, trap) => {
    await expect(firstFailure(trapped(trap), byName(route))).resolves.toMatch(/a 5xx/);
  });
});

describe('regressions the fuzzer found', () => {
  // A router that looks the method up as a plain object's key throws on these before any handler
  // runs. The services' pattern router and the body limit's RegExpRouter (Hono 4.13.19, methods
  // in an object without a prototype) route them as the unknown methods they are; services/common
  // once uppercased them first, which its mutants showed to change nothing, so it went. This
  // keeps it true on a Hono upgrade.
  it.each(SERVICES)(
    '$name: a method named like an Object.prototype member is a 405/404',
    async (service) => {
      const app = service.createApp(quiet());
      for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
        const known = await app.request(service.basePath, { method: name });
        expect([known.status, known.headers.get('allow')], name).toEqual([405, 'GET, HEAD']);
        expect(known.headers.get('content-type')).toBe('application/problem+json');
        const unknown = await app.request('/nowhere', { method: name });
        expect(unknown.status, name).toBe(404);
      }
    },
  );
});
