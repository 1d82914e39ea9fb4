// What node:http cannot give the two hops: node:http's server has parsed the request, but
// only as `req.headers` (an object of every header, built on first read) or `req.rawHeaders`.
// Both hops need, in one pass over the raw list: the headers to pass upstream without the
// ones a proxy sets or must drop, the few values they act on, and the head's size as sent
// (API Gateway limits it; node:http keeps no count). Plus two target forms node:http leaves
// to the application: absolute-form (RFC 9112 §3.2.2) and the Host's name without port.
import type { IncomingMessage } from 'node:http';

export interface RequestHead {
  /**
   * `[name, value, name, value...]` for the upstream request, without the headers a proxy
   * must not pass on or sets itself (Host, X-Forwarded-*, hop-by-hop headers), nor the body
   * framing (Transfer-Encoding; Expect, which this hop's listener has answered already):
   * undici frames the body it forwards itself and refuses both.
   */
  kept: string[];
  host: string;
  forwardedFor: string;
  traceId: string;
  userAgent: string;
  /** -1 when absent. */
  contentLength: number;
  hasBody: boolean;
  /**
   * Transfer-Encoding names a coding besides chunked (`gzip, chunked`): node:http removes the
   * chunked framing only, so the body read is still coded, and no hop may pass it on as plain.
   */
  otherCoding: boolean;
  /** Bytes of the header lines as sent: `name: value` and CRLF, for each field. */
  fieldBytes: number;
}

/** Lengths of the header names `readRequestHead` looks at (te, host, ..., transfer-encoding). */
const NOTED_LENGTHS = new Set([2, 4, 6, 7, 10, 14, 15, 16, 17]);

export function readRequestHead(raw: readonly string[]): RequestHead {
  const kept: string[] = [];
  let host = '';
  let forwardedFor = '';
  let traceId = '';
  let userAgent = '';
  let contentLength = -1;
  let chunked = false;
  let otherCoding = false;
  let fieldBytes = 0;
  let connection = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const length = name.length;
    fieldBytes += length + value.length + 4;
    // Only names of these lengths can need attention: skip lower-casing the others.
    if (NOTED_LENGTHS.has(length)) {
      switch (name.toLowerCase()) {
        case 'host':
          host = value;
          continue;
        case 'x-forwarded-for':
          forwardedFor = forwardedFor === '' ? value : `${forwardedFor}, ${value}`;
          continue;
        case 'connection':
          connection = connection === '' ? value : `${connection},${value}`;
          continue;
        case 'x-forwarded-proto':
        case 'x-forwarded-port':
        case 'keep-alive':
        case 'proxy-connection':
        case 'upgrade':
        case 'te': // hop-by-hop too (RFC 9110 §7.6.1), like the three above
        case 'expect':
          continue;
        case 'x-amzn-trace-id':
          traceId = value;
          continue;
        case 'user-agent':
          userAgent = value;
          break;
        case 'content-length':
          contentLength = Number(value);
          break;
        case 'transfer-encoding':
          chunked = true;
          if (value.toLowerCase() !== 'chunked') otherCoding = true;
          continue;
      }
    }
    kept.push(name, value);
  }
  return {
    kept: connection === '' ? kept : withoutConnectionOptions(kept, connection),
    host,
    forwardedFor,
    traceId,
    userAgent,
    contentLength,
    hasBody: chunked || contentLength > 0,
    otherCoding,
    fieldBytes,
  };
}

/** Connection options that name no field of a message: nothing to remove for them. */
const PLAIN_OPTIONS = new Set(['close', 'keep-alive', 'upgrade', '']);

/**
 * `fields` (`[name, value...]`) without those the Connection header names: "for each
 * connection-option in this field, remove any header or trailer field(s) from the message with
 * the same name" before forwarding it (RFC 9110 §7.6.1). Content-Length stays: it frames the
 * body this hop reads and sends on (a client naming it is wrong, and undici frames it anyway).
 */
export function withoutConnectionOptions(fields: string[], connection: string): string[] {
  const named = new Set<string>();
  for (const option of connection.toLowerCase().split(',')) {
    const name = option.trim();
    if (!PLAIN_OPTIONS.has(name) && name !== 'content-length') named.add(name);
  }
  if (named.size === 0) return fields;
  const rest: string[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    if (!named.has(name.toLowerCase())) rest.push(name, fields[i + 1] as string);
  }
  return rest;
}

/**
 * The request line and header lines as sent (`GET /path HTTP/1.1` and `name: value`, each
 * with its CRLF; not the empty line that ends the head). Node's parser has dropped optional
 * whitespace around values, so this can be a few bytes short of the wire for odd clients.
 */
export function headBytes(req: IncomingMessage, head: RequestHead): number {
  const method = req.method ?? '';
  const url = req.url ?? '';
  // `HTTP/1.1`: 8 bytes; the two spaces and the CRLF: 4.
  return method.length + url.length + 12 + head.fieldBytes;
}

/**
 * A request target in absolute-form (`GET http://host/api/books HTTP/1.1`) is rewritten in
 * place to origin-form (`/api/books`), and its authority returned, to be used instead of the
 * Host header: RFC 9112 §3.2.2 (a server MUST accept the absolute-form; the Host header is
 * then ignored for the target's authority). Returns undefined for any other form.
 */
export function toOriginForm(req: IncomingMessage): string | undefined {
  const url = req.url ?? '';
  // The usual origin-form (`/...`) is told apart by its first byte, without a regex.
  if (url.charCodeAt(0) === 0x2f) return undefined;
  const scheme = /^https?:\/\//i.exec(url);
  if (scheme === null) return undefined;
  const rest = url.slice(scheme[0].length);
  let end = rest.length;
  for (const stop of ['/', '?']) {
    const at = rest.indexOf(stop);
    if (at !== -1 && at < end) end = at;
  }
  const path = rest.slice(end);
  req.url = path === '' ? '/' : path.startsWith('?') ? `/${path}` : path;
  return rest.slice(0, end);
}

/** `Host: a.b:8080` to `a.b`, lower case; `[::1]:80` to `[::1]`. */
export function hostname(host: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.indexOf(':');
  const name = end > 0 ? host.slice(0, end) : host;
  return name.toLowerCase();
}

/**
 * Whether a request is one an HTTP/1.1 server serves: node:http also serves a request line
 * with no version (HTTP/0.9) and one saying HTTP/2.0, and (its Host check being off, so that
 * each listener answers in its own shape) an HTTP/1.1 request with no Host, which RFC 9112
 * §3.2 requires a server to answer with 400.
 */
export function isHttp11Request(req: IncomingMessage): boolean {
  if (req.httpVersionMajor !== 1) return false;
  return req.httpVersionMinor === 0 || req.headers.host !== undefined;
}

/** X-Forwarded-For with `address` appended, as each proxy hop appends the address it saw. */
export function appendForwardedFor(existing: string, address: string): string {
  return existing === '' ? address : `${existing}, ${address}`;
}
