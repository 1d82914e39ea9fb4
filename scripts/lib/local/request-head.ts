// One pass over a request's raw headers that both hops need: what to pass upstream, and the
// few values the API and the ALB act on. Reading `req.headers` would build an object of every
// header; the raw list is already there, so this walks it once.

export interface RequestHead {
  /**
   * `name: value\r\n` lines, ready for the upstream request head, without the headers a
   * proxy must not pass on or sets itself (Host, X-Forwarded-*, hop-by-hop headers).
   */
  kept: string;
  host: string;
  forwardedFor: string;
  traceId: string;
  userAgent: string;
  /** -1 when absent. */
  contentLength: number;
  hasBody: boolean;
}

export function readRequestHead(raw: readonly string[]): RequestHead {
  let kept = '';
  let host = '';
  let forwardedFor = '';
  let traceId = '';
  let userAgent = '';
  let contentLength = -1;
  let chunked = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const length = name.length;
    // Only names of these lengths can need attention: skip lower-casing the others.
    if (
      length === 4 ||
      length === 7 ||
      length === 10 ||
      length === 14 ||
      length === 15 ||
      length === 16 ||
      length === 17
    ) {
      switch (name.toLowerCase()) {
        case 'host':
          host = value;
          continue;
        case 'x-forwarded-for':
          forwardedFor = forwardedFor === '' ? value : `${forwardedFor}, ${value}`;
          continue;
        case 'x-forwarded-proto':
        case 'x-forwarded-port':
        case 'connection':
        case 'keep-alive':
        case 'proxy-connection':
        case 'upgrade':
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
          break;
      }
    }
    kept += `${name}: ${value}\r\n`;
  }
  return {
    kept,
    host,
    forwardedFor,
    traceId,
    userAgent,
    contentLength,
    hasBody: chunked || contentLength > 0,
  };
}

/** `Host: a.b:8080` to `a.b`, lower case; `[::1]:80` to `[::1]`. */
export function hostname(host: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.indexOf(':');
  const name = end > 0 ? host.slice(0, end) : host;
  return name.toLowerCase();
}
