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
  compileAccessLogFormat,
  type HttpApiRoute,
  type HttpApiSettings,
  matchRoute,
} from '../workspace/http-api-settings.ts';
import { endAfterRequest, LINGER_IDLE_MS } from './linger.ts';
import type { IntegrationCall, LoadBalancer } from './load-balancer.ts';
import {
  headBytes,
  hostname,
  type RequestHead,
  readRequestHead,
  toOriginForm,
} from './request-head.ts';
import type { StackTaps, TappedRequest } from './taps.ts';

interface GatewayError {
  status: number;
  message: string;
  body: Buffer;
}
function gatewayError(status: number, message: string): GatewayError {
  return { status, message, body: Buffer.from(JSON.stringify({ message })) };
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
  /** Its `onRequest` receives each finished request while someone listens. */
  taps?: StackTaps;
}

/** One request through the API: its integration call and its access-log record at once. */
class ApiRequest implements IntegrationCall, TappedRequest {
  readonly lingerMs: number;
  readonly req: IncomingMessage;
  /** From the request's head: whether a body follows it. */
  hasBody = false;
  readonly res: ServerResponse;
  readonly started: number;
  readonly responseHeader = 'apigw-requestid';
  readonly responseHeaderValue: string;
  readonly requestId: string;
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
  target: IntegrationCall['target'] = null;
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
    this.responseHeaderValue = this.requestId;
    this.requestTimeEpoch = Math.round(performance.timeOrigin + started);
    const address = req.socket.remoteAddress ?? '';
    this.sourceIp = address.startsWith('::ffff:') ? address.slice(7) : address;
    this.httpMethod = req.method ?? 'GET';
    this.protocol = req.httpVersion === '1.1' ? 'HTTP/1.1' : `HTTP/${req.httpVersion}`;
    this.path = path;
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
  const { settings, alb, accessLog, taps } = options;
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
    const tap = taps?.onRequest;
    if (log === null && tap === undefined) return;
    request.status = request.res.statusCode;
    request.responseLatency = performance.now() - request.started;
    if (log !== null) log((render as (r: AccessLogRecord) => string)(request));
    tap?.(request);
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
    if (size > HEAD_LIMIT_BYTES) return request.fail(HEADERS_TOO_LARGE);

    const route = matchRoute(routes, request.httpMethod, request.path);
    if (route === undefined) return request.fail(NOT_FOUND);
    request.routeKey = route.routeKey;
    if (!(buckets.get(route) as TokenBucket).take(started)) return request.fail(TOO_MANY_REQUESTS);

    if (head.contentLength > limit) return request.fail(PAYLOAD_TOO_LARGE);
    if (head.hasBody && head.contentLength === -1) {
      // A chunked body announces no length: count it as it streams through.
      let received = 0;
      req.on('data', (chunk: Buffer) => {
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
    alb.forward(req, res, head, host, '127.0.0.1', request);
  };
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
