// One request through the HTTP API: what the integration (the ALB) learns of it and reports
// back, and its access-log record, in one object; how it ends (an answer from the ALB, or the
// gateway's own error), and the access-log line and console event once it is over.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessLogRecord, CorsConfiguration } from '../../workspace/http-api-settings.ts';
import type { IntegrationCall } from '../alb/load-balancer.ts';
import { endAfterRequest } from '../http/linger.ts';
import { corsResponseHeaders, preflightHeaders } from './cors.ts';
import { clientAddress, type GatewayError, newRequestId } from './errors.ts';

export interface RequestObserver {
  readonly active: boolean;
  served(record: AccessLogRecord, rule: string | undefined, target: string | undefined): void;
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

/** What the gateway knows of a request when it starts serving it (http-api.ts). */
export interface RequestFacts {
  /** `performance.now()` when the request arrived. */
  started: number;
  /** The request's path, without its query. */
  path: string;
  /** How long an early answer waits on a silent client's unsent body (linger.ts). */
  lingerMs: number;
  /** From the request's head: whether a body follows it. */
  hasBody: boolean;
  /** The client sent `Expect: 100-continue`: it waits for a 100 before it sends the body. */
  expectsContinue: boolean;
  userAgent: string;
  /** The Host's (or an absolute-form target's) name, for `$context.domainName`. */
  domainName: string;
  /** The API's CORS configuration, when it has one, and the request's Origin. */
  cors: CorsConfiguration | null;
  origin: string | undefined;
}

/** One request through the API: its integration call and its access-log record at once. */
export class ApiRequest implements IntegrationCall, AccessLogRecord {
  readonly lingerMs: number;
  readonly req: IncomingMessage;
  readonly hasBody: boolean;
  expectsContinue: boolean;
  readonly res: ServerResponse;
  readonly started: number;
  readonly requestId: string;
  readonly cors: CorsConfiguration | null;
  readonly origin: string | undefined;
  readonly requestTimeEpoch: number;
  readonly sourceIp: string;
  readonly httpMethod: string;
  readonly protocol: string;
  readonly path: string;
  readonly userAgent: string;
  readonly domainName: string;
  routeKey = '-';
  status = -1;
  responseLength = -1;
  responseLatency = -1;
  integrationStatus = -1;
  integrationLatency = -1;
  integrationErrorMessage = '';
  errorMessage = '';
  upstream: IntegrationCall['upstream'] = null;
  rule: string | undefined = undefined;
  target: string | undefined = undefined;
  integrationStarted = 0;
  answered = false;
  timer: NodeJS.Timeout | undefined;

  constructor(req: IncomingMessage, res: ServerResponse, facts: RequestFacts) {
    this.req = req;
    this.res = res;
    this.started = facts.started;
    this.path = facts.path;
    this.lingerMs = facts.lingerMs;
    this.hasBody = facts.hasBody;
    this.expectsContinue = facts.expectsContinue;
    this.userAgent = facts.userAgent;
    this.domainName = facts.domainName;
    this.cors = facts.cors;
    this.origin = facts.origin;
    this.requestId = newRequestId();
    this.requestTimeEpoch = Math.round(performance.timeOrigin + facts.started);
    this.sourceIp = clientAddress(req.socket.remoteAddress);
    this.httpMethod = req.method ?? 'GET';
    this.protocol = `HTTP/${req.httpVersion}`;
  }

  addHeaders(headers: string[]): void {
    if (this.cors !== null) withCors(headers, this.cors, this.origin);
    headers.push('apigw-requestid', this.requestId);
  }

  /** The gateway now reads the body: a client that asked first may send it (RFC 9110 §10.1.1). */
  continueBody(): void {
    if (this.expectsContinue && !this.res.headersSent) this.res.writeContinue();
    this.expectsContinue = false;
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
    // A 204 has no body to carry its head out: sent now, not once a preflight's body is in.
    this.res.flushHeaders();
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
      // A client still waiting for a 100 Continue sends no body (RFC 9110 §10.1.1): it gets
      // the answer, and the connection closes, its next bytes being no request of ours.
      const waiting = this.hasBody && this.expectsContinue;
      if (waiting) res.shouldKeepAlive = false;
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
        hasBody: this.hasBody && !waiting,
        idleMs: this.lingerMs,
      });
    }
    upstream?.destroy();
  }
}

/** The response is over (sent, or the client went away): stop the exchange, write the log. */
export function finish(
  request: ApiRequest,
  log: ((record: AccessLogRecord) => void) | null,
  observer: RequestObserver | null,
): void {
  clearTimeout(request.timer);
  const upstream = request.upstream;
  if (upstream !== null && !request.res.writableFinished) {
    // The client went away before its answer: stop the exchange with the replica too.
    request.upstream = null;
    request.answered = true;
    upstream.destroy();
  }
  const observed = observer?.active === true;
  if (log === null && !observed) return;
  // No head went out when the client left first: the record says no status ("-"), not the
  // 200 node:http holds for a response it never started.
  request.status = request.res.headersSent ? request.res.statusCode : -1;
  request.responseLatency = performance.now() - request.started;
  if (log !== null) log(request);
  if (observed) observer?.served(accessLogFields(request), request.rule, request.target);
}

/** The record's fields alone, without the request's sockets, for a listener to keep. */
export function accessLogFields(r: ApiRequest): AccessLogRecord {
  return {
    requestId: r.requestId,
    sourceIp: r.sourceIp,
    userAgent: r.userAgent,
    domainName: r.domainName,
    requestTimeEpoch: r.requestTimeEpoch,
    httpMethod: r.httpMethod,
    routeKey: r.routeKey,
    path: r.path,
    protocol: r.protocol,
    status: r.status,
    responseLength: r.responseLength,
    responseLatency: r.responseLatency,
    integrationStatus: r.integrationStatus,
    integrationLatency: r.integrationLatency,
    integrationErrorMessage: r.integrationErrorMessage,
    errorMessage: r.errorMessage,
  };
}
