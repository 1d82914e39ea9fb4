// The request scope as a client meets it over a real socket, where @hono/node-server hands the
// app the Node request (its header object is where the id is read) and writes plain-header
// answers itself: the id rule, the header on answers no respond() built, one log line whatever
// answered (a route, the document, Hono's HEAD, the body limit before any route), and the query
// and path parameters as the schemas see them.
import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASE_PATH } from '../../book-service/src/app.ts';
import type { RunningService } from '../src/server.ts';
import { MAX_BODY_BYTES } from '../src/service-app.ts';
import { startBookServiceWith } from './book-service-with.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let lines: string[];
let running: RunningService;

// Per test (not once for the file), so mutation testing knows which test covers what.
beforeEach(async () => {
  lines = [];
  running = await startBookServiceWith(
    'book-service with a route of its own that answers with c.json',
    (app) => app.get(`${BASE_PATH}/own/json`, (c) => c.json({ own: true })),
    lines,
  );
});
afterEach(() => running.shutdown('test over'));

/** One request over a fresh socket: status, headers, body. */
function send(
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port: running.port, method, path: target, headers, agent: false },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** The request lines logged so far, parsed. */
function requestLines(): Record<string, unknown>[] {
  return lines
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === 'request');
}

describe('the request id, read from the Node request', () => {
  it.each([
    ['a sane x-request-id', { 'x-request-id': 'abc-123' }, 'abc-123'],
    [
      'the ALB trace id when there is no x-request-id',
      { 'x-amzn-trace-id': 'Root=1-6789-ab' },
      'Root=1-6789-ab',
    ],
    [
      'x-request-id over the trace id',
      { 'x-request-id': 'r.1', 'x-amzn-trace-id': 'Root=1-2' },
      'r.1',
    ],
  ])('takes %s', async (_, headers, id) => {
    const response = await send('GET', `${BASE_PATH}/1`, headers);
    expect(response.headers['x-request-id']).toBe(id);
    expect(requestLines()).toEqual([expect.objectContaining({ requestId: id, status: 200 })]);
  });

  it.each([
    ['a hostile x-request-id', { 'x-request-id': 'a b' }],
    ['an x-request-id over 200 characters', { 'x-request-id': 'x'.repeat(201) }],
    [
      'a hostile x-request-id, even beside a sane trace id',
      { 'x-request-id': 'a;b c', 'x-amzn-trace-id': 'Root=1-2' },
    ],
    ['no id at all', {}],
  ])('makes a UUID for %s', async (_, headers) => {
    const response = await send('GET', BASE_PATH, headers);
    expect(response.headers['x-request-id']).toMatch(UUID);
  });
});

describe('answers no respond() built', () => {
  it.each([
    ['the OpenAPI document', 'GET', `${BASE_PATH}/openapi.json`, 200],
    ["a service's own c.json route", 'GET', `${BASE_PATH}/own/json`, 200],
    ["Hono's HEAD of a GET route", 'HEAD', BASE_PATH, 200],
    ['a 405 from the method-not-allowed middleware', 'DELETE', `${BASE_PATH}/1`, 405],
  ])('%s: carries the id and is logged once', async (_, method, target, status) => {
    const response = await send(method, target, { 'x-request-id': 'own-1' });
    expect(response.status).toBe(status);
    expect(response.headers['x-request-id']).toBe('own-1');
    expect(requestLines()).toEqual([
      expect.objectContaining({ method, path: target, status, requestId: 'own-1' }),
    ]);
  });

  it('logs a 413 answered before any route, with its path', async () => {
    // No Content-Length: the body limit counts the chunks as they arrive.
    const response = await send(
      'POST',
      `${BASE_PATH}/`,
      { 'transfer-encoding': 'chunked', 'x-request-id': 'big-1' },
      'x'.repeat(MAX_BODY_BYTES + 1),
    );
    expect(response.status).toBe(413);
    expect(response.headers['x-request-id']).toBe('big-1');
    expect(requestLines()).toEqual([
      expect.objectContaining({ method: 'POST', path: BASE_PATH, status: 413 }),
    ]);
  });
});

describe('the input the schemas check', () => {
  it.each([
    ['a percent-encoded id', `${BASE_PATH}/%31`, 200, 1],
    ['a percent-encoded query value', `${BASE_PATH}?limit=%32&offset=4`, 200, 2],
    ['a query key given twice', `${BASE_PATH}?limit=1&limit=2`, 400, undefined],
    ['an empty query', `${BASE_PATH}?`, 200, 6],
  ])('%s', async (_, target, status, count) => {
    const response = await send('GET', target);
    expect(response.status).toBe(status);
    if (count === undefined) return;
    const body = JSON.parse(response.body) as unknown;
    expect(Array.isArray(body) ? body.length : 1).toBe(count);
  });
});
