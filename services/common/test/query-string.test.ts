// Where the list's query is read from: only between the `?` and any `#` of the request URL, and
// all of it, however many other keys come first (Node's querystring stops at 1,000 keys unless
// told otherwise, which would let a bad limit through behind 1,000 others).
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

async function seen(target: string) {
  const response = await app().request(target);
  const body = (await response.json()) as { detail?: string } | { id: number }[];
  return Array.isArray(body)
    ? { status: response.status, ids: body.map((b) => b.id) }
    : { status: response.status, detail: body.detail };
}

const LIMIT = 'query.limit: must be an integer from 1 to 100';
const others = (count: number) => Array.from({ length: count }, (_, i) => `k${i}=1`).join('&');

describe('the query, however many keys come before the ones that count', () => {
  it.each([
    [999, 'limit=0', { status: 400, detail: LIMIT }],
    [1000, 'limit=0', { status: 400, detail: LIMIT }],
    [1000, 'limit=2', { status: 200, ids: [1, 2] }],
    [5000, 'offset=4&limit=1', { status: 200, ids: [5] }],
    // An escape sends the query to Node's querystring: told to read every key as well.
    [1000, 'limit=%30', { status: 400, detail: LIMIT }],
  ])('%d other keys, then %s', async (count, query, expected) => {
    expect(await seen(`/api/books?${others(count)}&${query}`)).toEqual(expected);
  });
});

describe('a URL with no query', () => {
  // The host is part of the URL the route sees: `&` and `=` are allowed in a host name.
  it.each([
    'http://a&limit=0/api/books',
    'http://limit=0/api/books',
    'http://a&offset=x&limit=101/api/books#?limit=0',
  ])('%s: the whole list', async (url) => {
    expect(await seen(url)).toEqual({ status: 200, ids: [1, 2, 3, 4, 5, 6] });
  });
});
