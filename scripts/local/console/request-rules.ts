// What the console's server refuses before it routes a request, as a decision on the request's
// method and headers alone (server.ts answers it): the console can kill processes, so a page on
// another site must not reach it. A request is refused when its Host is not a loopback name (a
// DNS-rebinding attempt: a foreign name resolving to 127.0.0.1), and an action (POST) when its
// Origin is not a loopback one or its body is not declared JSON: a form or a `text/plain` body
// is what a foreign page can send without a preflight (Fetch standard, CORS-safelisted request
// headers), which the console never answers with CORS headers.
import type { IncomingHttpHeaders } from 'node:http';

/** Names a browser on this machine uses for it; any other Host is a DNS-rebinding attempt. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** `Host`'s name, lower case, without a port (`localhost:8081` to `localhost`). */
export function hostnameOf(value: string | undefined): string {
  if (value === undefined) return '';
  return value.toLowerCase().replace(/:\d+$/, '');
}

/** An Origin of a page served on this machine: `http(s)://` and a loopback name, a port at most. */
export function isLoopbackOrigin(origin: string): boolean {
  const scheme = /^https?:\/\//.exec(origin);
  return scheme !== null && LOOPBACK.has(hostnameOf(origin.slice(scheme[0].length)));
}

/**
 * Whether a Content-Type declares JSON: its media type (before any parameter) is
 * `application/json`, compared case-insensitively (RFC 9110 §8.3.1: "The type and subtype
 * tokens are case-insensitive"). `application/jsonp`, `text/json` or none at all are not.
 */
export function isJson(contentType: string | undefined): boolean {
  const essence = (contentType ?? '').split(';', 1)[0] as string;
  return essence.trim().toLowerCase() === 'application/json';
}

export interface Refusal {
  status: 403 | 415;
  title: string;
  detail: string;
}

/** The refusal of a request a page on another site could have sent, or undefined. */
export function refusalOf(method: string, headers: IncomingHttpHeaders): Refusal | undefined {
  if (!LOOPBACK.has(hostnameOf(headers.host))) {
    return {
      status: 403,
      title: 'Forbidden',
      detail: 'the console answers only to a loopback Host (127.0.0.1 or localhost)',
    };
  }
  if (method !== 'POST') return undefined;
  const origin = headers.origin;
  if (origin !== undefined && !isLoopbackOrigin(origin)) {
    return {
      status: 403,
      title: 'Forbidden',
      detail: `actions are accepted only from the console's own page, not ${origin}`,
    };
  }
  if (!isJson(headers['content-type'])) {
    return {
      status: 415,
      title: 'Unsupported Media Type',
      detail: 'send the action as application/json',
    };
  }
  return undefined;
}
