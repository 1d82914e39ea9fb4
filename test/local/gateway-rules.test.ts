// The HTTP API's decisions that need no socket (scripts/local/gateway/request-rules.ts and
// errors.ts), each walked across its edge from both sides: the head quota (10,240 bytes as
// sent, 400 for what is not HTTP/1.x), the field count a replica takes, the payload quota, the
// authorizer's identity (one header, whatever its case; two joined), the integration's header
// mappings, X-Forwarded-For, the request line of a refused request, and the client's address.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BAD_REQUEST,
  clientAddress,
  clientErrorAnswer,
  HEADERS_TOO_LARGE,
  newRequestId,
  PAYLOAD_TOO_LARGE,
  REQUEST_TIMEOUT,
  requestLineOf,
} from '../../scripts/local/gateway/errors.ts';
import {
  applyHeaderMappings,
  headRefusal,
  identityOf,
  payloadRefusal,
  TARGET_MAX_FIELDS,
} from '../../scripts/local/gateway/request-rules.ts';
import { appendForwardedFor } from '../../scripts/local/http/request-head.ts';
import {
  HEAD_LIMIT_BYTES,
  type HttpApiSettings,
} from '../../scripts/workspace/http-api-settings.ts';

const fine = { http11: true, headBytes: 100, fields: 10 };

describe("the head's quotas", () => {
  it(`lets a head of ${HEAD_LIMIT_BYTES} bytes through and refuses one byte more with 431`, () => {
    expect(HEAD_LIMIT_BYTES).toBe(10_240);
    expect(headRefusal({ ...fine, headBytes: HEAD_LIMIT_BYTES }, 6)).toBeUndefined();
    expect(headRefusal({ ...fine, headBytes: HEAD_LIMIT_BYTES + 1 }, 6)).toBe(HEADERS_TOO_LARGE);
  });

  it('counts the fields the ALB and the mappings add against what a replica takes', () => {
    expect(TARGET_MAX_FIELDS).toBe(1_000);
    expect(headRefusal({ ...fine, fields: TARGET_MAX_FIELDS - 6 }, 6)).toBeUndefined();
    expect(headRefusal({ ...fine, fields: TARGET_MAX_FIELDS - 5 }, 6)).toBe(HEADERS_TOO_LARGE);
    // The added fields count, not only the client's.
    expect(headRefusal({ ...fine, fields: TARGET_MAX_FIELDS }, 0)).toBeUndefined();
    expect(headRefusal({ ...fine, fields: TARGET_MAX_FIELDS }, 1)).toBe(HEADERS_TOO_LARGE);
  });

  it('answers what is not HTTP/1.x with 400, before any size', () => {
    expect(headRefusal({ ...fine, http11: false }, 6)).toBe(BAD_REQUEST);
    expect(headRefusal({ http11: false, headBytes: 20_000, fields: 2_000 }, 6)).toBe(BAD_REQUEST);
    expect(BAD_REQUEST.status).toBe(400);
    expect(HEADERS_TOO_LARGE.status).toBe(431);
  });

  it('refuses exactly the heads over either bound (any sizes)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 3 * HEAD_LIMIT_BYTES }),
        fc.nat({ max: 2 * TARGET_MAX_FIELDS }),
        fc.nat({ max: 20 }),
        (headBytes, fields, added) => {
          const over = headBytes > HEAD_LIMIT_BYTES || fields + added > TARGET_MAX_FIELDS;
          const answer = headRefusal({ http11: true, headBytes, fields }, added);
          expect(answer).toBe(over ? HEADERS_TOO_LARGE : undefined);
        },
      ),
    );
  });
});

describe('the payload quota', () => {
  const limit = 10 * 1024 * 1024;

  it('lets a body of exactly the quota through and refuses one byte more with 413', () => {
    expect(payloadRefusal(limit, limit)).toBeUndefined();
    expect(payloadRefusal(limit + 1, limit)).toBe(PAYLOAD_TOO_LARGE);
    expect(PAYLOAD_TOO_LARGE.status).toBe(413);
    expect(PAYLOAD_TOO_LARGE.body.toString()).toBe('{"message":"Request Entity Too Large"}');
  });

  it('leaves a body with no length (chunked) and an empty one to be read', () => {
    expect(payloadRefusal(-1, limit)).toBeUndefined();
    expect(payloadRefusal(0, limit)).toBeUndefined();
    expect(payloadRefusal(1, 0)).toBe(PAYLOAD_TOO_LARGE);
  });
});

describe("the authorizer's identity source", () => {
  it('is the named header, whatever case the client wrote it in', () => {
    expect(identityOf(['Authorization', 'Bearer a'], 'authorization')).toBe('Bearer a');
    expect(identityOf(['AUTHORIZATION', 'Bearer a'], 'authorization')).toBe('Bearer a');
    expect(identityOf(['x-authorization', 'Bearer a'], 'authorization')).toBeUndefined();
    expect(identityOf(['authorizatio', 'Bearer a'], 'authorization')).toBeUndefined();
    expect(identityOf(['Host', 'authorization'], 'authorization')).toBeUndefined();
    expect(identityOf([], 'authorization')).toBeUndefined();
  });

  it('joins a header sent more than once with commas, in order', () => {
    const raw = ['authorization', 'Bearer a', 'accept', '*/*', 'Authorization', 'Bearer b'];
    expect(identityOf(raw, 'authorization')).toBe('Bearer a, Bearer b');
    expect(identityOf(['authorization', '', 'authorization', 'x'], 'authorization')).toBe(', x');
  });
});

describe("the integration's header mappings", () => {
  type Mappings = HttpApiSettings['headerMappings'];
  const ALB = 'internal-app-env.elb.localhost';

  it('overwrites every field of the name, whatever its case, with one value', () => {
    const mappings: Mappings = [
      { action: 'overwrite', header: 'x-env', value: { kind: 'static', text: 'test' } },
    ];
    const kept = ['X-Env', 'a', 'accept', '*/*', 'x-env', 'b', 'x-envy', 'c'];
    expect(applyHeaderMappings(kept, mappings, ALB)).toEqual([
      'accept',
      '*/*',
      'x-envy',
      'c',
      'x-env',
      'test',
    ]);
    // The input is not changed in place.
    expect(kept).toHaveLength(8);
  });

  it("appends beside the client's own, and removes without adding", () => {
    const append: Mappings = [
      { action: 'append', header: 'x-env', value: { kind: 'static', text: 'test' } },
    ];
    expect(applyHeaderMappings(['X-Env', 'a'], append, ALB)).toEqual([
      'X-Env',
      'a',
      'x-env',
      'test',
    ]);
    const remove: Mappings = [{ action: 'remove', header: 'x-env', value: { kind: 'none' } }];
    expect(applyHeaderMappings(['X-ENV', 'a', 'b', 'c'], remove, ALB)).toEqual(['b', 'c']);
  });

  it("sets the ALB's DNS name where the template imports it", () => {
    const mappings: Mappings = [
      { action: 'overwrite', header: 'x-alb', value: { kind: 'albDnsName' } },
    ];
    expect(applyHeaderMappings(['x-alb', 'spoofed'], mappings, ALB)).toEqual(['x-alb', ALB]);
  });

  it('applies the mappings in order', () => {
    const mappings: Mappings = [
      { action: 'append', header: 'x-a', value: { kind: 'static', text: '1' } },
      { action: 'remove', header: 'x-a', value: { kind: 'none' } },
      { action: 'append', header: 'x-b', value: { kind: 'static', text: '2' } },
    ];
    expect(applyHeaderMappings([], mappings, ALB)).toEqual(['x-b', '2']);
  });
});

describe('X-Forwarded-For', () => {
  it("starts with the client's address, and appends it to one the client sent", () => {
    expect(appendForwardedFor('', '10.0.0.1')).toBe('10.0.0.1');
    expect(appendForwardedFor('1.2.3.4', '10.0.0.1')).toBe('1.2.3.4, 10.0.0.1');
  });
});

describe('a request refused by the parser', () => {
  const line = (text: string) => requestLineOf(Buffer.from(text, 'latin1'));

  it('keeps its request line for the access log, the query left out', () => {
    expect(line('GET /api/books?x=1 HTTP/1.1\r\nHost: a\r\n')).toEqual([
      'GET',
      '/api/books',
      'HTTP/1.1',
    ]);
    expect(line('DELETE /a HTTP/1.0\n')).toEqual(['DELETE', '/a', 'HTTP/1.0']);
  });

  it('has none when the parser did not get that far, or the line is not one', () => {
    expect(requestLineOf(undefined)).toBeUndefined();
    expect(line('GET /api/books HTTP/1.1')).toBeUndefined();
    expect(line('GET /api/books\r\n')).toBeUndefined();
    expect(line(' GET /a HTTP/1.1\r\n')).toBeUndefined();
    expect(line('GET  /a HTTP/1.1\r\n')).toBeUndefined();
    expect(line('G\u00e9T /a HTTP/1.1\r\n')).toBeUndefined();
    expect(line('GET /a HTTP/11\r\n')).toBeUndefined();
    expect(line('GET /a XTTP/1.1\r\n')).toBeUndefined();
  });

  it('reads at most 8 KiB of it', () => {
    const long = `GET /${'a'.repeat(8_192)} HTTP/1.1\r\n`;
    expect(line(long)).toBeUndefined();
    const fits = `GET /${'a'.repeat(8_192 - 16)} HTTP/1.1\r\n`;
    expect(fits.length).toBe(8_192);
    expect(line(fits)?.[0]).toBe('GET');
  });

  it("gets the status of node:http's reason", () => {
    expect(clientErrorAnswer('HPE_HEADER_OVERFLOW')).toBe(HEADERS_TOO_LARGE);
    expect(clientErrorAnswer('ERR_HTTP_REQUEST_TIMEOUT')).toBe(REQUEST_TIMEOUT);
    expect(REQUEST_TIMEOUT.status).toBe(408);
    expect(clientErrorAnswer('HPE_INVALID_METHOD')).toBe(BAD_REQUEST);
    expect(clientErrorAnswer(undefined)).toBe(BAD_REQUEST);
  });
});

describe("the client's address and the request id", () => {
  it("drops Node's IPv4-mapped prefix, and only that", () => {
    expect(clientAddress('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientAddress('::1')).toBe('::1');
    expect(clientAddress('2001:db8::ffff:1')).toBe('2001:db8::ffff:1');
    expect(clientAddress(undefined)).toBe('');
  });

  it("gives each request its own id in API Gateway's shape", () => {
    const ids = Array.from({ length: 1_000 }, () => newRequestId());
    expect(new Set(ids).size).toBe(1_000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9]{15}=$/);
  });
});
