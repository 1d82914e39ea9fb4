// Which origins the local HTTP API's CORS allows, walked from both sides with the near misses a
// person would try. An entry of `AllowOrigins` is an origin, `*` (any), or `https://*` /
// `http://*` (any origin of that scheme: "Configure CORS for HTTP APIs in API Gateway", the
// allowOrigins examples); anything else matches only the very same origin. Browsers send the
// Origin serialised (lower-case scheme and host, no path, no trailing slash, the port only
// when not the default), so a prefix, a suffix, another case, a trailing dot or slash, another
// port or scheme is another origin, and gets no CORS header (case-sensitive matching is
// assumed, docs/verified.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CorsConfiguration,
  corsResponseHeaders,
  preflightHeaders,
} from '../../scripts/local/gateway/cors.ts';

const ALLOWED = 'https://app.example.com';
const config: CorsConfiguration = { AllowOrigins: [ALLOWED, 'http://localhost:5173'] };

const allowedOnPreflight = (c: CorsConfiguration, origin: string) =>
  preflightHeaders(c, { origin, 'access-control-request-method': 'GET' })[
    'access-control-allow-origin'
  ];
const allowedOnResponse = (c: CorsConfiguration, origin: string) =>
  corsResponseHeaders(c, origin, {})['access-control-allow-origin'];

/** What a person would try instead of an allowed origin. */
function nearMisses(origin: string): string[] {
  const url = new URL(origin);
  const host = url.hostname;
  const other = url.protocol === 'https:' ? 'http:' : 'https:';
  return [
    `${origin}.evil.test`,
    `${origin}evil.test`,
    `${origin}/`,
    `${origin}.`,
    `${origin}:443`,
    `${origin}:8443`,
    `${origin}/path`,
    `${origin} `,
    ` ${origin}`,
    origin.slice(0, -1),
    origin.toUpperCase(),
    origin.replace(host, host.toUpperCase()),
    origin.replace(url.protocol, other),
    origin.replace('//', '//evil.'),
    origin.replace('//', '//evil-'),
    origin.replace(host, `${host}@evil.test`),
    `${url.protocol}//evil.test/${host}`,
    `${url.protocol}//evil.test?${host}`,
    `${url.protocol}//${host.split('.').slice(1).join('.')}`,
    'null',
    '',
  ].filter((miss) => miss !== origin);
}

describe('an allowed origin', () => {
  it('is allowed on preflights and on responses, echoed exactly', () => {
    for (const origin of config.AllowOrigins ?? []) {
      expect(allowedOnPreflight(config, origin)).toBe(origin);
      expect(allowedOnResponse(config, origin)).toBe(origin);
    }
  });

  it('is not matched by a prefix, a suffix, another case, port, scheme or path of it', () => {
    for (const allowed of config.AllowOrigins ?? []) {
      for (const miss of nearMisses(allowed)) {
        expect({ miss, preflight: allowedOnPreflight(config, miss) }).toEqual({
          miss,
          preflight: undefined,
        });
        expect({ miss, response: allowedOnResponse(config, miss) }).toEqual({
          miss,
          response: undefined,
        });
      }
    }
  });

  it('allows exactly the listed origins, among any others (property)', () => {
    const origin = fc.oneof(
      fc.webUrl().map((url) => new URL(url).origin),
      fc.constantFrom(...(config.AllowOrigins ?? [])),
      fc.constantFrom(...(config.AllowOrigins ?? []).flatMap(nearMisses)),
      fc.string(),
    );
    fc.assert(
      fc.property(origin, (candidate) => {
        const listed = (config.AllowOrigins ?? []).includes(candidate) && candidate !== '';
        expect(allowedOnPreflight(config, candidate)).toBe(listed ? candidate : undefined);
        expect(allowedOnResponse(config, candidate)).toBe(listed ? candidate : undefined);
      }),
    );
  });

  it('is no pattern: dots and other regular-expression characters in it are literal', () => {
    const dotted = { AllowOrigins: ['https://a.b.example'] };
    expect(allowedOnResponse(dotted, 'https://aXb.example')).toBeUndefined();
    expect(allowedOnResponse(dotted, 'https://a.b.example')).toBe('https://a.b.example');
    const starred = { AllowOrigins: ['https://*.example.com'] };
    expect(allowedOnResponse(starred, 'https://app.example.com')).toBeUndefined();
    expect(allowedOnResponse(starred, 'https://*.example.com')).toBe('https://*.example.com');
  });
});

describe('a scheme wildcard (https://* or http://*)', () => {
  const https = { AllowOrigins: ['https://*'] };

  it('allows any origin of that scheme, echoing it', () => {
    fc.assert(
      fc.property(fc.domain(), (host) => {
        expect(allowedOnPreflight(https, `https://${host}`)).toBe(`https://${host}`);
        expect(allowedOnResponse(https, `https://${host}`)).toBe(`https://${host}`);
      }),
    );
    expect(allowedOnResponse(https, 'https://app.example.com.evil.test')).toBe(
      'https://app.example.com.evil.test',
    );
  });

  it('allows no origin of another scheme, nor one that only contains the scheme', () => {
    for (const miss of [
      'http://app.example.com',
      'HTTPS://app.example.com',
      'https:/app.example.com',
      'https:app.example.com',
      'xhttps://app.example.com',
      'null',
      'https://',
    ]) {
      expect({ miss, allowed: allowedOnResponse(https, miss) }).toEqual({
        miss,
        allowed: undefined,
      });
    }
    const http = { AllowOrigins: ['http://*'] };
    expect(allowedOnResponse(http, 'http://localhost:5173')).toBe('http://localhost:5173');
    expect(allowedOnResponse(http, 'https://localhost:5173')).toBeUndefined();
  });

  it('varies on Origin, as its answer depends on it', () => {
    expect(corsResponseHeaders(https, 'https://a.example', {}).vary).toBe('Origin');
  });
});

describe('no Origin, or no list', () => {
  it('gives no CORS header', () => {
    expect(allowedOnResponse({ AllowOrigins: [''] }, '')).toBeUndefined();
    expect(allowedOnResponse({}, ALLOWED)).toBeUndefined();
    expect(corsResponseHeaders(config, undefined, {})).toEqual({});
  });
});
