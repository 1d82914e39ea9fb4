// The exact problem each bad id or list query gets, at the edges of each rule (the id's 1 to
// 2^31-1 and its leading zeros, the limit's 1 to 100, the offset's digits), and the document's
// fixed metadata: what a client and a client generator see, word for word.
import { describe, expect, it } from 'vitest';
import { createApp } from '../../book-service/src/app.ts';
import { createLifecycle } from '../src/lifecycle.ts';
import { createLogger } from '../src/logger.ts';

/** Built inside each test (not at load), so mutation testing knows which test covers what. */
const app = () =>
  createApp({
    lifecycle: createLifecycle(),
    logger: createLogger({ service: 'book-service', level: 'silent' }),
  });

async function problemAt(target: string): Promise<{ status: number; detail?: string }> {
  const res = await app().request(target);
  const body = (await res.json()) as { detail?: string };
  return { status: res.status, ...(res.status === 400 ? { detail: body.detail } : {}) };
}

const ID_RANGE = 'param.id: must be between 1 and 2147483647';
const LIMIT = 'query.limit: must be an integer from 1 to 100';

describe('validation, at the edges', () => {
  it.each([
    ['abc', { status: 400, detail: 'param.id: must be a positive integer' }],
    ['1a', { status: 400, detail: 'param.id: must be a positive integer' }],
    ['0', { status: 400, detail: ID_RANGE }],
    ['000', { status: 400, detail: ID_RANGE }],
    ['1', { status: 200 }],
    ['0001', { status: 200 }],
    ['2147483647', { status: 404 }],
    ['2147483648', { status: 400, detail: ID_RANGE }],
    ['00000000002147483647', { status: 404 }],
    ['12345678901', { status: 400, detail: ID_RANGE }],
  ])('id %s', async (id, expected) => {
    expect(await problemAt(`/api/books/${id}`)).toEqual(expected);
  });

  it.each([
    ['limit=0', { status: 400, detail: LIMIT }],
    ['limit=1', { status: 200 }],
    ['limit=100', { status: 200 }],
    ['limit=101', { status: 400, detail: LIMIT }],
    ['limit=1000', { status: 400, detail: LIMIT }],
    ['limit=a1', { status: 400, detail: LIMIT }],
    ['limit=1a', { status: 400, detail: LIMIT }],
    // Number() reads these as 100 and 16: only the digits rule refuses them.
    ['limit=1e2', { status: 400, detail: LIMIT }],
    ['limit=0x10', { status: 400, detail: LIMIT }],
    ['offset=0', { status: 200 }],
    ['offset=999999999', { status: 200 }],
    ['offset=1000000000', { status: 400, detail: 'query.offset: must be a non-negative integer' }],
    ['offset=-1', { status: 400, detail: 'query.offset: must be a non-negative integer' }],
    ['offset=1a', { status: 400, detail: 'query.offset: must be a non-negative integer' }],
    ['offset=a1', { status: 400, detail: 'query.offset: must be a non-negative integer' }],
  ])('%s', async (query, expected) => {
    expect(await problemAt(`/api/books?${query}`)).toEqual(expected);
  });

  it('pages by offset then limit', async () => {
    const page = (await (await app().request('/api/books?offset=2&limit=2')).json()) as {
      id: number;
    }[];
    expect(page.map((b) => b.id)).toEqual([3, 4]);
    const rest = (await (await app().request('/api/books?offset=4')).json()) as { id: number }[];
    expect(rest.map((b) => b.id)).toEqual([5, 6]);
  });
});

describe("the document's fixed metadata", () => {
  it('states its licence, server, public security and described tags', async () => {
    const doc = (await (await app().request('/api/books/openapi.json')).json()) as Record<
      string,
      unknown
    >;
    expect(doc.info).toMatchObject({ license: { name: 'MIT-0', identifier: 'MIT-0' } });
    expect(doc.servers).toEqual([
      { url: '/', description: 'The origin that served this document' },
    ]);
    expect(doc.security).toEqual([]);
    const operations = Object.values(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap((path) => Object.values(path) as { operationId: string; tags: string[] }[])
      .map((op) => `${op.operationId} ${op.tags.join(',')}`)
      .sort();
    expect(operations).toEqual(['getBook books', 'getBookServiceHealth health', 'listBooks books']);
    expect(doc.tags).toEqual([
      { name: 'books', description: 'The books, read-only' },
      { name: 'health', description: 'Whether the service is serving' },
    ]);
  });
});
