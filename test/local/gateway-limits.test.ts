// The HTTP API's quotas at their edges: a request head (request line and header lines) of
// 10,240 bytes reaches the service, one byte more gets the gateway's 431. And a request target
// in absolute-form is accepted (RFC 9112 §3.2.2). What an 11 MB upload from a client that does
// not read while it sends gets: gateway-uploads.slow.test.ts.
import { describe, expect, it } from 'vitest';
import { HEAD_LIMIT_BYTES } from '../../scripts/local/gateway/http-api.ts';
import { books } from '../../services/book-service/src/data.ts';
import { rawExchange } from '../helpers/http.ts';
import { manifestService } from '../helpers/workspace.ts';
import { stackForSuite } from './helpers.ts';

const bookService = manifestService('book-service');

// Throttling lifted, output dropped.
const suite = stackForSuite({ healthCheckScale: 0.1, accessLog: false });
const port = (url: string) => Number(new URL(url).port);

/** A GET whose request line and header lines (each with its CRLF) come to `size` bytes. */
function headOf(size: number, target: string, host = 'limits.example.com'): Buffer {
  const lines = [`GET ${target} HTTP/1.1`, `Host: ${host}`, 'Connection: close'];
  const used = lines.reduce((sum, line) => sum + line.length + 2, 0) + 'X-Pad: \r\n'.length;
  lines.push(`X-Pad: ${'p'.repeat(size - used)}`);
  const head = `${lines.join('\r\n')}\r\n`;
  expect(head.length).toBe(size);
  return Buffer.from(`${head}\r\n`, 'latin1');
}

describe('the request head quota', () => {
  it(`lets a head of exactly ${HEAD_LIMIT_BYTES} bytes reach the service`, async () => {
    const reply = await rawExchange(
      port(suite.stack.apiUrl),
      headOf(HEAD_LIMIT_BYTES, bookService.health.path),
      5_000,
    );
    expect(reply.status).toBe(200);
    expect(reply.headers['x-local-target']).toBeDefined();
  });

  it.each([HEAD_LIMIT_BYTES + 1, 12_000, 16_000])(
    "answers a head of %i bytes with the gateway's 431",
    async (size) => {
      const reply = await rawExchange(
        port(suite.stack.apiUrl),
        headOf(size, bookService.pathPrefix),
        5_000,
      );
      expect(reply.status).toBe(431);
      expect(reply.headers['x-local-target']).toBeUndefined();
      expect(reply.headers['apigw-requestid']).toMatch(/=$/);
      expect(reply.body.toString()).toBe('{"message":"Request Header Fields Too Large"}');
    },
  );
});

describe('a request target in absolute-form', () => {
  const absolute = (host: string) =>
    Buffer.from(
      `GET http://${host}${bookService.pathPrefix} HTTP/1.1\r\nHost: ignored.example.com\r\nConnection: close\r\n\r\n`,
    );

  it('is routed by its path through the API', async () => {
    const reply = await rawExchange(port(suite.stack.apiUrl), absolute('api.example.com'), 5_000);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString())).toEqual(books);
  });

  it("is matched on the ALB by the target's host, not the Host header", async () => {
    const right = await rawExchange(port(suite.stack.albUrl), absolute(suite.stack.albHost), 5_000);
    expect(right.status).toBe(200);
    const wrong = await rawExchange(port(suite.stack.albUrl), absolute('wrong.invalid'), 5_000);
    expect(wrong.status).toBe(503);
  });
});
