// The local HTTP API ($default stage): the template's routes, its stage throttling, the
// payload quota, the integration's Host overwrite and timeout, and one access-log line per
// request. Matched requests go to the ALB's `forward` in-process, as the integration hands
// them to the listener through the VPC link. Gateway errors use API Gateway's own shape,
// `{"message":"..."}`; what the ALB or a replica answers passes through unchanged.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type AccessLogRecord,
  type CorsConfiguration,
  compileAccessLogFormat,
  type HttpApiRoute,
  type HttpApiSettings,
  type JwtAuthorizerSettings,
  matchRoute,
} from '../workspace/http-api-settings.ts';
import { corsResponseHeaders, isPreflight, preflightHeaders } from './cors.ts';
import { createJwtAuthorizer, type JwtVerdict } from './jwt-authorizer.ts';
import { endAfterRequest, LINGER_IDLE_MS } from './linger.ts';
import type { IntegrationCall, LoadBalancer } from './load-balancer.ts';
import {
  headBytes,
  hostname,
  type RequestHead,
  readRequestHead,
  toOriginForm,
} from './request-head.ts';

interface GatewayError {
  status: number;
  message: string;
  body: Buffer;
  /** Flat name/value pairs added to the answer (the authorizer's `www-authenticate`). */
  headers?: string[];
}
function gatewayError(status: number, message: string, headers?: string[]): GatewayError {
  return {
    status,
    message,
    body: Buffer.from(JSON.stringify({ message })),
    ...(headers ? { headers } : {}),
  };
}
const NOT_FOUND = gatewayError(404, 'Not Found');
const TOO_MANY_REQUESTS = gatewayError(429, 'Too Many Requests');
const PAYLOAD_TOO_LARGE = gatewayError(413, 'Request Entity Too Large');
/**
 * "Total combined size of request line and header values: 10240 bytes" (Quotas for
 * configuring and running an HTTP API in API Gateway,
 * docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html). What API
 * Gateway answers past it is not documented; a public report (backbencher.dev, "SOLVED: 431
 * Status Code With Request Header Fields Too Large", 2023) saw 431 from an HTTP API behind
 * Cloudflare. Assumed: 431 in the gateway's own shape, the head counted as the request line
 * and the header lines (headBytes), 10,240 bytes allowed. docs/verified.md records it and the
 * smoke test checks it on a deploy (scripts/checks/smoke-quotas.ts).
 */
export const HEAD_LIMIT_BYTES = 10_240;
const HEADERS_TOO_LARGE = gatewayError(431, 'Request Header Fields Too Large');
// What an HTTP API answers when the integration does not answer in time: a 503 with this
// body (observed on HTTP APIs, e.g. github.com/cortexlabs/cortex/issues/1225), where REST
// APIs answer 504.
const INTEGRATION_TIMEOUT = gatewayError(503, 'Service Unavailable');

/** Token bucket with API Gateway's rate (tokens per second) and burst (bucket size). */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly perMs: number;
  private readonly burst: number;

  constructor(rateLimit: number, burstLimit: number, now: number) {
    this.perMs = rateLimit / 1000;
    this.burst = burstLimit;
    this.tokens = burstLimit;
    this.last = now;
  }

  take(now: number): boolean {
    const refilled = this.tokens + (now - this.last) * this.perMs;
    this.tokens = Math.min(refilled, this.burst);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

// API Gateway's request ids look like `RL2XYiwjPHcEMEQ=`: 15 characters and a `=`. A random
// per-process prefix plus a counter keeps them unique without randomness per request.
const idPrefix = randomBytes(9).toString('base64').replace(/[+/]/g, 'x').slice(0, 9);
let idCounter = 0;
function newRequestId(): string {
  idCounter = (idCounter + 1) % 2_176_782_336; // 36^6
  return `${idPrefix}${idCounter.toString(36).padStart(6, '0')}=`;
}

export interface HttpApiOptions {
  settings: HttpApiSettings;
  alb: LoadBalancer;
  /** Receives each rendered access-log line; null turns access logging off. */
  accessLog: ((line: string) => void) | null;
  /** How long an early answer waits on a silent client's unsent body (linger.ts). */
  lingerMs?: number;
}

/**
 * The API's CORS configuration as API Gateway applies it to what the integration answers: the
 * backend's own CORS headers dropped, the configured ones set (cors.ts).
 */
function withCors(headers: string[], cors: CorsConfiguration, origin: string | undefined): void {
  const backend: Record<string, string> = {};
  for (let i = 0; i < headers.length; i += 2) {
    backend[headers[i] as string] = headers[i + 1] as string;
  }
  headers.length = 0;
  for (const [name, value] of Object.entries(corsResponseHeaders(cors, origin, backend))) {
    headers.push(name, value);
  }
}

/** One request through the API: its integration call and its access-log record at once. */
class ApiRequest implements IntegrationCall, AccessLogRecord {
  readonly lingerMs: number;
  readonly req: IncomingMessage;
  /** From the request's head: whether a body follows it. */
  hasBody = false;
  readonly res: ServerResponse;
  readonly started: number;
  readonly requestId: string;
  /** The API's CORS configuration, when it has one, and the request's Origin. */
  cors: CorsConfiguration | null = null;
  origin: string | undefined;
  readonly requestTimeEpoch: number;
  readonly sourceIp: string;
  readonly httpMethod: string;
  readonly protocol: string;
  readonly path: string;
  userAgent = '';
  domainName = '';
  routeKey = '-';
  status = -1;
  responseLength = -1;
  responseLatency = -1;
  integrationStatus = -1;
  integrationLatency = -1;
  integrationErrorMessage = '';
  errorMessage = '';
  upstream: IntegrationCall['upstream'] = null;
  integrationStarted = 0;
  answered = false;
  timer: NodeJS.Timeout | undefined;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    started: number,
    path: string,
    lingerMs: number,
  ) {
    this.lingerMs = lingerMs;
    this.req = req;
    this.res = res;
    this.started = started;
    this.requestId = newRequestId();
    this.requestTimeEpoch = Math.round(performance.timeOrigin + started);
    const address = req.socket.remoteAddress ?? '';
    this.sourceIp = address.startsWith('::ffff:') ? address.slice(7) : address;
    this.httpMethod = req.method ?? 'GET';
    this.protocol = req.httpVersion === '1.1' ? 'HTTP/1.1' : `HTTP/${req.httpVersion}`;
    this.path = path;
  }

  addHeaders(headers: string[]): void {
    if (this.cors !== null) withCors(headers, this.cors, this.origin);
    headers.push('apigw-requestid', this.requestId);
  }

  /**
   * API Gateway's own answer to a CORS preflight: the configured headers for an allowed
   * origin, none otherwise; the integration is never called. The status is assumed
   * (docs/verified.md) and checked by the smoke test on a deploy.
   */
  answerPreflight(cors: CorsConfiguration): void {
    this.answered = true;
    const headers = Object.entries(preflightHeaders(cors, this.req.headers)).flat();
    this.responseLength = 0;
    this.res.writeHead(204, [...headers, 'apigw-requestid', this.requestId]);
    endAfterRequest(this.req, this.res, Buffer.alloc(0), {
      hasBody: this.hasBody,
      idleMs: this.lingerMs,
    });
  }

  integrationResponded(status: number): boolean {
    if (this.answered) return false;
    this.answered = true;
    clearTimeout(this.timer);
    this.integrationStatus = status;
    this.integrationLatency = performance.now() - this.integrationStarted;
    return true;
  }

  /** Answers with the gateway's own error, unless something has answered already. */
  fail(error: GatewayError): void {
    if (this.answered) return;
    this.answered = true;
    clearTimeout(this.timer);
    const upstream = this.upstream;
    this.upstream = null;
    this.errorMessage = error.message;
    this.responseLength = error.body.length;
    const res = this.res;
    if (!res.headersSent) {
      res.writeHead(error.status, [
        'content-type',
        'application/json',
        'content-length',
        String(error.body.length),
        'apigw-requestid',
        this.requestId,
        ...(error.headers ?? []),
      ]);
      // Often sent before the body has arrived (a 413, a 404 to a POST): read it to the end
      // first, or a client that sends it all before reading gets a reset (linger.ts).
      endAfterRequest(this.req, res, error.body, {
        hasBody: this.hasBody,
        idleMs: this.lingerMs,
      });
    }
    upstream?.destroy();
  }
}

/**
 * CONNECT asks for a tunnel, which no route offers: the gateway's 404, then the connection
 * closes. Without a 'connect' listener Node drops the connection with no answer at all.
 */
export function answerConnect(_req: IncomingMessage, socket: Duplex): void {
  socket.on('error', () => {});
  socket.end(
    `HTTP/1.1 ${NOT_FOUND.status} Not Found\r\ncontent-type: application/json\r\ncontent-length: ${NOT_FOUND.body.length}\r\napigw-requestid: ${newRequestId()}\r\nconnection: close\r\n\r\n${NOT_FOUND.body}`,
  );
}

export function createHttpApiHandler(
  options: HttpApiOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { settings, alb, accessLog } = options;
  const routes = settings.routes;
  const now = performance.now();
  const buckets = new Map<HttpApiRoute, TokenBucket>(
    routes.map((route) => [
      route,
      new TokenBucket(route.throttling.rateLimit, route.throttling.burstLimit, now),
    ]),
  );
  const render = settings.accessLogFormat ? compileAccessLogFormat(settings.accessLogFormat) : null;
  const log = render && accessLog;
  const limit = settings.payloadLimitBytes;
  const timeoutMs = settings.integrationTimeoutMs;
  const forwardHost = settings.hostOverwritten ? alb.dnsName : null;
  const mappings = settings.headerMappings;
  const lingerMs = options.lingerMs ?? LINGER_IDLE_MS;

  const onTimeout = (request: ApiRequest): void => {
    request.integrationErrorMessage = `The integration did not respond within ${timeoutMs} ms`;
    request.fail(INTEGRATION_TIMEOUT);
  };

  const finish = (request: ApiRequest): void => {
    clearTimeout(request.timer);
    const upstream = request.upstream;
    if (upstream !== null && !request.res.writableFinished) {
      // The client went away before its answer: stop the exchange with the replica too.
      request.upstream = null;
      request.answered = true;
      upstream.destroy();
    }
    if (log === null) return;
    request.status = request.res.statusCode;
    request.responseLatency = performance.now() - request.started;
    log((render as (r: AccessLogRecord) => string)(request));
  };

  const cors = settings.cors;
  const authorizers = authorizersOf(routes);

  const forward = (request: ApiRequest, head: RequestHead, authority: string | undefined) => {
    if (request.answered || request.res.destroyed) return;
    if (cors !== null && isPreflight(request.httpMethod, request.req.headers)) {
      return request.answerPreflight(cors);
    }
    if (head.hasBody && head.contentLength === -1) {
      // A chunked body announces no length: count it as it streams through. Attached only
      // now, so no chunk flows away while an authorizer decides.
      let received = 0;
      request.req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > limit) request.fail(PAYLOAD_TOO_LARGE);
      });
    }
    if (mappings.length > 0) applyHeaderMappings(head, mappings, alb.dnsName);
    // API Gateway appends the client's address; the ALB hop then appends the VPC link's and
    // sets X-Forwarded-Proto/Port to its listener's, which is what the replica sees.
    head.forwardedFor =
      head.forwardedFor === '' ? request.sourceIp : `${head.forwardedFor}, ${request.sourceIp}`;

    request.timer = setTimeout(onTimeout, timeoutMs, request);
    request.integrationStarted = performance.now();
    const host = forwardHost ?? (authority === undefined ? head.host : authority);
    alb.forward(request.req, request.res, head, host, '127.0.0.1', request);
  };

  return (req, res) => {
    const started = performance.now();
    const head = readRequestHead(req.rawHeaders);
    const size = headBytes(req, head);
    const authority = toOriginForm(req);
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const request = new ApiRequest(req, res, started, path, lingerMs);
    res.on('close', () => finish(request));
    request.hasBody = head.hasBody;
    request.userAgent = head.userAgent;
    request.domainName = hostname(authority ?? head.host);
    if (cors !== null) {
      request.cors = cors;
      request.origin = req.headers.origin;
    }
    if (size > HEAD_LIMIT_BYTES) return request.fail(HEADERS_TOO_LARGE);

    const route = matchRoute(routes, request.httpMethod, request.path);
    if (route === undefined) {
      // "API Gateway automatically sends a response to preflight OPTIONS requests, even if
      // there isn't an OPTIONS route configured for your API" (Configuring CORS for an HTTP API).
      if (cors !== null && isPreflight(request.httpMethod, req.headers)) {
        return request.answerPreflight(cors);
      }
      return request.fail(NOT_FOUND);
    }
    request.routeKey = route.routeKey;
    if (!(buckets.get(route) as TokenBucket).take(started)) return request.fail(TOO_MANY_REQUESTS);

    if (head.contentLength > limit) return request.fail(PAYLOAD_TOO_LARGE);
    const authorize = route.authorizer && authorizers.get(route.authorizer.logicalId);
    if (!authorize) return forward(request, head, authority);
    // The authorizer runs before CORS: a preflight that matches an authorized route is refused
    // for lack of a token, the caveat the template's OPTIONS routes exist for.
    const identity = req.headers[(route.authorizer as JwtAuthorizerSettings).identityHeader];
    authorize(typeof identity === 'string' ? identity : undefined).then((verdict) =>
      verdict.ok ? forward(request, head, authority) : request.fail(refusal(verdict)),
    );
  };
}

type Authorize = (identity: string | undefined) => Promise<JwtVerdict>;

/** One JWT authorizer per authorizer resource, shared by its routes (one key cache each). */
function authorizersOf(routes: readonly HttpApiRoute[]): Map<string, Authorize> {
  const authorizers = new Map<string, Authorize>();
  for (const { authorizer } of routes) {
    if (authorizer === null || authorizers.has(authorizer.logicalId)) continue;
    authorizers.set(authorizer.logicalId, createJwtAuthorizer(authorizer));
  }
  return authorizers;
}

function refusal(verdict: Extract<JwtVerdict, { ok: false }>): GatewayError {
  return gatewayError(verdict.status, 'Unauthorized', Object.entries(verdict.headers).flat());
}

function applyHeaderMappings(
  head: RequestHead,
  mappings: HttpApiSettings['headerMappings'],
  albDnsName: string,
): void {
  let lines = head.kept.split('\r\n').filter((line) => line !== '');
  for (const mapping of mappings) {
    if (mapping.action !== 'append') {
      lines = lines.filter(
        (line) => line.slice(0, line.indexOf(':')).toLowerCase() !== mapping.header,
      );
    }
    if (mapping.value.kind === 'static') lines.push(`${mapping.header}: ${mapping.value.text}`);
    if (mapping.value.kind === 'albDnsName') lines.push(`${mapping.header}: ${albDnsName}`);
  }
  head.kept = lines.map((line) => `${line}\r\n`).join('');
}
