// CORS as an HTTP API applies it: preflights answered by the gateway, configured headers on
// responses, the backend's own CORS headers ignored.
import { describe, expect, it } from 'vitest';
import {
  type CorsConfiguration,
  corsResponseHeaders,
  isPreflight,
  preflightHeaders,
} from '../../scripts/lib/local/cors.ts';

const config: CorsConfiguration = {
  AllowOrigins: ['https://app.example.com'],
  AllowMethods: ['GET', 'HEAD', 'OPTIONS'],
  AllowHeaders: ['authorization', 'content-type'],
  ExposeHeaders: ['x-request-id'],
  MaxAge: 600,
};
const preflight = { origin: 'https://app.example.com', 'access-control-request-method': 'GET' };

describe('local CORS', () => {
  it('tells a preflight from a plain OPTIONS', () => {
    expect(isPreflight('OPTIONS', preflight)).toBe(true);
    expect(isPreflight('OPTIONS', { origin: 'https://app.example.com' })).toBe(false);
    expect(isPreflight('GET', preflight)).toBe(false);
  });

  it('answers an allowed origin with the configured allow-lists', () => {
    expect(preflightHeaders(config, preflight)).toEqual({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'GET,HEAD,OPTIONS',
      'access-control-allow-headers': 'authorization,content-type',
      'access-control-max-age': '600',
      vary: 'Origin',
    });
  });

  it('gives a disallowed origin no CORS header at all', () => {
    expect(preflightHeaders(config, { ...preflight, origin: 'https://evil.example' })).toEqual({});
    expect(corsResponseHeaders(config, 'https://evil.example', { 'content-type': 'a' })).toEqual({
      'content-type': 'a',
    });
  });

  it("replaces the backend's CORS headers with the configured ones", () => {
    const backend = { 'content-type': 'application/json', 'Access-Control-Allow-Origin': '*' };
    expect(corsResponseHeaders(config, 'https://app.example.com', backend)).toEqual({
      'content-type': 'application/json',
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-expose-headers': 'x-request-id',
      vary: 'Origin',
    });
  });

  it('answers * for a wildcard configuration unless credentials are allowed', () => {
    const any = { ...config, AllowOrigins: ['*'] };
    expect(preflightHeaders(any, preflight)['access-control-allow-origin']).toBe('*');
    const withCredentials = { ...any, AllowCredentials: true };
    expect(preflightHeaders(withCredentials, preflight)['access-control-allow-origin']).toBe(
      'https://app.example.com',
    );
  });
});
