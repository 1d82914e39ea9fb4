// CORS as an HTTP API applies it when the API has a CorsConfiguration (API Gateway developer
// guide, "Configure CORS for HTTP APIs"): API Gateway answers preflight requests itself, even
// with no OPTIONS route, and sets the configured CORS headers on the integration's responses,
// ignoring any CORS header the backend sends. What the guide leaves open is marked "assumed"
// in docs/verified.md (the preflight's status, the headers on a disallowed origin) and checked
// by scripts/smoke.ts against a deployed API.

import type { CorsConfiguration } from '../../workspace/http-api-settings.ts';

export type { CorsConfiguration };

type Headers = Record<string, string>;

/**
 * Whether an entry of AllowOrigins admits `origin`: `https://*` and `http://*` any origin of
 * that scheme ("https://* (allow any origin that begins with https://)", the allowOrigins
 * examples of "Configure CORS for HTTP APIs in API Gateway"); any other entry only the same
 * origin, character for character (case-sensitive: assumed, docs/verified.md).
 */
function admits(entry: string, origin: string): boolean {
  if (entry === 'https://*' || entry === 'http://*') {
    const scheme = entry.slice(0, -1);
    return origin.length > scheme.length && origin.startsWith(scheme);
  }
  return entry === origin;
}

function allowedOrigin(config: CorsConfiguration, origin: string | undefined): string | undefined {
  const origins = config.AllowOrigins;
  if (!origin || !origins) return undefined;
  if (origins.includes('*')) return config.AllowCredentials ? origin : '*';
  return origins.some((entry) => admits(entry, origin)) ? origin : undefined;
}

/** A preflight: OPTIONS with an Origin and the method the browser wants to send (Fetch spec). */
export function isPreflight(method: string, headers: Record<string, unknown>): boolean {
  return (
    method === 'OPTIONS' &&
    typeof headers.origin === 'string' &&
    typeof headers['access-control-request-method'] === 'string'
  );
}

/**
 * The headers of API Gateway's own answer to a preflight: the allow-lists when the origin is
 * allowed, none otherwise (the browser then refuses the real request).
 */
export function preflightHeaders(
  config: CorsConfiguration,
  headers: Record<string, unknown>,
): Headers {
  const origin = allowedOrigin(config, headers.origin as string | undefined);
  if (!origin) return {};
  const out: Headers = { 'access-control-allow-origin': origin };
  // An absent list and an empty one both send no header (join gives '' for []).
  const methods = config.AllowMethods?.join(',');
  const allowHeaders = config.AllowHeaders?.join(',');
  if (methods) out['access-control-allow-methods'] = methods;
  if (allowHeaders) out['access-control-allow-headers'] = allowHeaders;
  if (config.MaxAge !== undefined) out['access-control-max-age'] = String(config.MaxAge);
  if (config.AllowCredentials) out['access-control-allow-credentials'] = 'true';
  if (origin !== '*') out.vary = 'Origin';
  return out;
}

/**
 * A backend response's headers as the client gets them: the backend's own CORS headers
 * dropped, the configured ones added for an allowed origin.
 */
export function corsResponseHeaders(
  config: CorsConfiguration,
  origin: string | undefined,
  backend: Headers,
): Headers {
  const out = Object.fromEntries(
    Object.entries(backend).filter(([name]) => !name.toLowerCase().startsWith('access-control-')),
  );
  const allowed = allowedOrigin(config, origin);
  if (!allowed) return out;
  out['access-control-allow-origin'] = allowed;
  const expose = config.ExposeHeaders?.join(',');
  if (expose) out['access-control-expose-headers'] = expose;
  if (config.AllowCredentials) out['access-control-allow-credentials'] = 'true';
  if (allowed !== '*') out.vary = out.vary ? `${out.vary}, Origin` : 'Origin';
  return out;
}
