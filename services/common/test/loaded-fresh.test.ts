// What the services' module-level values decide, on modules loaded inside each test: the id and
// list-query schemas (their near misses, both sides of each limit), the request id rule, the
// body limit, the problem content type, and the document's schemas, tags, licence and examples.
//
// Loaded inside the test (vi.resetModules, then import) because Stryker attributes code that
// runs when a module loads to whichever test loads it: validation.test.ts imports these modules
// at load, before any test, so its checks of the same rules count for nothing there, and a
// mutant of a schema was run only against the contract test, which loads the services lazily
// and asks them nothing of the kind. Here a mutated schema is the one the test builds on.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { createLifecycle } from '../src/lifecycle.ts';
import { createLogger } from '../src/logger.ts';

/** book-service built from modules loaded now, not at the file's load. */
async function freshBookService() {
  vi.resetModules();
  const { createApp } = await import('../../book-service/src/app.ts');
  return createApp({
    lifecycle: createLifecycle(),
    logger: createLogger({ service: 'book-service', level: 'silent' }),
  });
}

type App = Awaited<ReturnType<typeof freshBookService>>;

/** What a client sees of an answer: status, its type, and a problem's detail or the ids sent. */
async function seen(app: App, target: string, init?: RequestInit) {
  const response = await app.request(target, init);
  const type = response.headers.get('content-type');
  const text = await response.text();
  if (type === 'application/json') {
    const body = JSON.parse(text) as { id: number } | { id: number }[];
    return { status: response.status, ids: Array.isArray(body) ? body.map((b) => b.id) : body.id };
  }
  return { status: response.status, type, detail: (JSON.parse(text) as { detail: string }).detail };
}

const POSITIVE = 'param.id: must be a positive integer';
const ID_RANGE = 'param.id: must be between 1 and 2147483647';
const LIMIT = 'query.limit: must be an integer from 1 to 100';
const OFFSET = 'query.offset: must be a non-negative integer';
const bad = (detail: string) => ({ status: 400, type: 'application/problem+json', detail });

describe('the id, on both sides of each rule', () => {
  it.each([
    ['1', { status: 200, ids: 1 }],
    ['6', { status: 200, ids: 6 }],
    ['06', { status: 200, ids: 6 }],
    ['12', { status: 404 }],
    ['2147483647', { status: 404 }],
    ['0', bad(ID_RANGE)],
    ['00', bad(ID_RANGE)],
    ['2147483648', bad(ID_RANGE)],
    ['99999999999999999999999999', bad(ID_RANGE)],
    ['abc', bad(POSITIVE)],
    ['a1', bad(POSITIVE)],
    ['1a', bad(POSITIVE)],
    ['-1', bad(POSITIVE)],
    ['+1', bad(POSITIVE)],
    ['%201', bad(POSITIVE)],
    ['1%20', bad(POSITIVE)],
    ['1.0', bad(POSITIVE)],
    ['1e3', bad(POSITIVE)],
    ['0x1', bad(POSITIVE)],
  ])('%s', async (id, expected) => {
    const app = await freshBookService();
    const got = await seen(app, `/api/books/${id}`);
    if (expected.status === 404) {
      expect(got).toEqual({
        status: 404,
        type: 'application/problem+json',
        detail: `There is no books item with id ${id}.`,
      });
    } else expect(got).toEqual(expected);
  });
});

describe('the list query, on both sides of each rule', () => {
  it.each([
    ['', { status: 200, ids: [1, 2, 3, 4, 5, 6] }],
    ['limit=1', { status: 200, ids: [1] }],
    ['limit=10', { status: 200, ids: [1, 2, 3, 4, 5, 6] }],
    ['limit=010', { status: 200, ids: [1, 2, 3, 4, 5, 6] }],
    ['limit=100', { status: 200, ids: [1, 2, 3, 4, 5, 6] }],
    ['limit=0', bad(LIMIT)],
    ['limit=000', bad(LIMIT)],
    ['limit=101', bad(LIMIT)],
    ['limit=0010', bad(LIMIT)],
    ['limit=-1', bad(LIMIT)],
    ['limit=a1', bad(LIMIT)],
    ['limit=1a', bad(LIMIT)],
    ['limit=+12', bad(LIMIT)],
    ['limit=%2B12', bad(LIMIT)],
    ['limit=12%20', bad(LIMIT)],
    ['limit=1e2', bad(LIMIT)],
    ['limit=', bad(LIMIT)],
    ['offset=0', { status: 200, ids: [1, 2, 3, 4, 5, 6] }],
    ['offset=5', { status: 200, ids: [6] }],
    ['offset=10', { status: 200, ids: [] }],
    ['offset=000000004', { status: 200, ids: [5, 6] }],
    ['offset=999999999', { status: 200, ids: [] }],
    ['offset=1000000000', bad(OFFSET)],
    ['offset=-1', bad(OFFSET)],
    ['offset=+5', bad(OFFSET)],
    ['offset=%2B5', bad(OFFSET)],
    ['offset=5%20', bad(OFFSET)],
    ['offset=a1', bad(OFFSET)],
    ['offset=1a', bad(OFFSET)],
    ['offset=', bad(OFFSET)],
    ['offset=2&limit=2', { status: 200, ids: [3, 4] }],
  ])('?%s', async (query, expected) => {
    const app = await freshBookService();
    expect(await seen(app, `/api/books?${query}`)).toEqual(expected);
  });

  it('takes every limit from 1 to 100 written in at most three digits, and refuses the rest', async () => {
    const app = await freshBookService();
    const all = [1, 2, 3, 4, 5, 6];
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: fc.constantFrom(...'0123456789 +-.ex') }),
        async (limit) => {
          const valid = /^\d{1,3}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= 100;
          const got = await seen(app, `/api/books?limit=${encodeURIComponent(limit)}`);
          expect(got).toEqual(
            valid ? { status: 200, ids: all.slice(0, Number(limit)) } : bad(LIMIT),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('the request id rule', () => {
  it.each([
    ['abc-123', true],
    ['Root=1-6789-ab;Parent=5;Sampled=1', true],
    ['a.b:c/d+e_f', true],
    ['x'.repeat(200), true],
    ['x'.repeat(201), false],
    ['a b', false],
    ['a,b', false],
    ['<id>', false],
  ])('%s: kept %s', async (id, kept) => {
    const app = await freshBookService();
    const response = await app.request('/api/books/1', { headers: { 'x-request-id': id } });
    if (kept) expect(response.headers.get('x-request-id')).toBe(id);
    else expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the body limit', () => {
  it.each([
    [1, 405],
    [16 * 1024, 405],
    [16 * 1024 + 1, 413],
  ])('a POST of %d bytes: %d', async (size, status) => {
    const app = await freshBookService();
    const got = await seen(app, '/api/books', { method: 'POST', body: 'x'.repeat(size) });
    expect(got.status).toBe(status);
    expect(got.type).toBe('application/problem+json');
    if (status === 413) expect(got.detail).toBe('Request bodies are limited to 16384 bytes.');
  });
});

describe('the document', () => {
  it('is the one committed in book-service/test/__snapshots__', async () => {
    const app = await freshBookService();
    const committed = JSON.parse(
      readFileSync(
        new URL('../../book-service/test/__snapshots__/openapi.json', import.meta.url),
        'utf8',
      ),
    ) as unknown;
    expect(await (await app.request('/api/books/openapi.json')).json()).toEqual(committed);
  });
});
