// CORS as an HTTP API applies it: preflights answered by the gateway, configured headers on
// responses, the backend's own CORS headers ignored.
import { describe, expect, it } from 'vitest';
import {
  type CorsConfiguration,
  corsResponseHeaders,
  isPreflight,
  preflightHeaders,
} from '../../scripts/local/gateway/cors.ts';

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

describe('local CORS with a partial configuration', () => {
  const minimal: CorsConfiguration = { AllowOrigins: ['https://app.example.com'] };

  // toStrictEqual: a header present with an undefined or empty value is a header sent.
  it('sends only the headers the configuration sets', () => {
    expect(preflightHeaders(minimal, preflight)).toStrictEqual({
      'access-control-allow-origin': 'https://app.example.com',
      vary: 'Origin',
    });
    expect(
      preflightHeaders({ ...minimal, AllowMethods: [], AllowHeaders: [] }, preflight),
    ).toStrictEqual({
      'access-control-allow-origin': 'https://app.example.com',
      vary: 'Origin',
    });
    expect(
      corsResponseHeaders({ ...minimal, ExposeHeaders: [] }, preflight.origin, {}),
    ).toStrictEqual({
      'access-control-allow-origin': 'https://app.example.com',
      vary: 'Origin',
    });
  });

  it('allows credentials only when configured, on preflights and responses alike', () => {
    const withCredentials = { ...minimal, AllowCredentials: true };
    expect(preflightHeaders(withCredentials, preflight)).toMatchObject({
      'access-control-allow-credentials': 'true',
    });
    expect(corsResponseHeaders(withCredentials, preflight.origin, {})).toMatchObject({
      'access-control-allow-credentials': 'true',
    });
    expect(corsResponseHeaders(minimal, preflight.origin, {})).not.toHaveProperty(
      'access-control-allow-credentials',
    );
  });

  it("keeps the backend's Vary and adds Origin to it; a wildcard varies on nothing", () => {
    expect(corsResponseHeaders(minimal, preflight.origin, { vary: 'Accept-Encoding' }).vary).toBe(
      'Accept-Encoding, Origin',
    );
    const any = { AllowOrigins: ['*'] };
    expect(corsResponseHeaders(any, preflight.origin, {})).toEqual({
      'access-control-allow-origin': '*',
    });
    expect(preflightHeaders(any, preflight)).toEqual({ 'access-control-allow-origin': '*' });
  });

  it('lists several exposed headers comma-separated', () => {
    const exposing = { ...minimal, ExposeHeaders: ['x-request-id', 'etag'] };
    expect(corsResponseHeaders(exposing, preflight.origin, {})).toMatchObject({
      'access-control-expose-headers': 'x-request-id,etag',
    });
  });

  it('gives no CORS header to a request without Origin, or with no origins configured', () => {
    expect(corsResponseHeaders(minimal, undefined, { 'access-control-max-age': '5' })).toEqual({});
    // Not even for a wildcard: a request without Origin is not a cross-origin one.
    const any = { AllowOrigins: ['*'], AllowCredentials: true };
    expect(corsResponseHeaders(any, undefined, {})).toStrictEqual({});
    expect(corsResponseHeaders({ AllowOrigins: ['*'] }, undefined, {})).toStrictEqual({});
    expect(preflightHeaders({}, preflight)).toEqual({});
    expect(isPreflight('OPTIONS', { origin: ['a'], 'access-control-request-method': 'GET' })).toBe(
      false,
    );
  });
});
