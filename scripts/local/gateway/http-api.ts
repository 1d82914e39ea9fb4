// The local HTTP API ($default stage): the template's routes, its stage throttling, the
// quotas (request line and headers, payload), the integration's Host overwrite and timeout,
// and one access-log line per request, what node:http refused included. Matched requests go
// to the ALB's `forward` in-process, as the integration hands them to the listener through the
// VPC link. Gateway errors use API Gateway's own shape, `{"message":"..."}` (errors.ts); what
// the ALB or a replica answers passes through unchanged.
import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type AccessLogRecord,
  compileAccessLogFormat,
  HEAD_LIMIT_BYTES,
  type HttpApiRoute,
  type HttpApiSettings,
  type JwtAuthorizerSettings,
  matchRoute,
} from '../../workspace/http-api-settings.ts';
import { FORWARDED_FIELDS, type LoadBalancer } from '../alb/load-balancer.ts';
import { HeadMeter, type HeadSize } from '../http/head-meter.ts';
import { LINGER_IDLE_MS } from '../http/linger.ts';
import { type ClientError, OneAtATime } from '../http/one-at-a-time.ts';
import {
  appendForwardedFor,
  headBytes,
  hostname,
  isHttp11Request,
  type RequestHead,
  readRequestHead,
  toOriginForm,
} from '../http/request-head.ts';
import { ApiRequest, finish, type RequestObserver } from './api-request.ts';
import { isPreflight } from './cors.ts';
import {
  answerClientError,
  answerConnect,
  type GatewayError,
  gatewayError,
  INTEGRATION_TIMEOUT,
  NOT_FOUND,
  NOT_IMPLEMENTED,
  PAYLOAD_TOO_LARGE,
  TOO_MANY_REQUESTS,
} from './errors.ts';
import { createJwtAuthorizer, type JwtVerdict } from './jwt-authorizer.ts';
import { BodyBudget, readWholeBody } from './request-body.ts';
import {
  applyHeaderMappings,
  headRefusal,
  identityOf,
  payloadRefusal,
  TARGET_MAX_FIELDS,
} from './request-rules.ts';
import { type TokenBucket, tokenBuckets } from './throttling.ts';

export type { RequestObserver };
export { HEAD_LIMIT_BYTES, TARGET_MAX_FIELDS };

export interface HttpApiOptions {
  settings: HttpApiSettings;
  alb: LoadBalancer;
  /** Receives each rendered access-log line; null turns access logging off. */
  accessLog: ((line: string) => void) | null;
  /** How long an early answer waits on a silent client's unsent body (linger.ts). */
  lingerMs?: number;
  /** Told of every request once answered, while `active` (the console, events.ts). */
  observer?: RequestObserver;
  /** Chunked bodies held at once (request-body.ts); tests shrink it. */
  bodyBudget?: BodyBudget;
}

type Handler = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => void;

/**
 * Serves the HTTP API on `server`: requests one at a time per connection, each head measured
 * as sent, what node:http's parser refuses answered in the gateway's shape and logged.
 */
export function attachHttpApi(server: http.Server, options: HttpApiOptions): void {
  const meter = new HeadMeter();
  const serial = new OneAtATime();
  const { log, observer } = accessLogOf(options);
  const serve = createHandler(options, (socket) => meter.take(socket), log, observer);
  server.on('connection', meter.watch);
  server.on(
    'request',
    serial.wrap((req, res) => serve(req, res, false)),
  );
  // Without this listener node:http answers 100 Continue to every `Expect: 100-continue`, an
  // upload over the quota included; the gateway sends it only when it reads the body.
  server.on(
    'checkContinue',
    serial.wrap((req, res) => serve(req, res, true)),
  );
  // Answered on the socket itself, and logged like any other request.
  const logged = (record: AccessLogRecord): void => {
    if (log !== null) log(record);
    if (observer?.active === true) observer.served(record, undefined, undefined);
  };
  server.on('connect', (req: IncomingMessage, socket: Duplex) =>
    logged(answerConnect(req, socket)),
  );
  server.on(
    'clientError',
    serial.clientErrors((error: ClientError, socket: Socket) =>
      logged(answerClientError(error, socket)),
    ),
  );
}

function accessLogOf(options: HttpApiOptions): {
  log: ((record: AccessLogRecord) => void) | null;
  observer: RequestObserver | null;
} {
  const { settings, accessLog } = options;
  const render = settings.accessLogFormat ? compileAccessLogFormat(settings.accessLogFormat) : null;
  return {
    log: render && accessLog ? (record) => accessLog(render(record)) : null,
    observer: options.observer ?? null,
  };
}

function createHandler(
  options: HttpApiOptions,
  measured: (socket: Socket) => HeadSize | undefined,
  log: ((record: AccessLogRecord) => void) | null,
  observer: RequestObserver | null,
): Handler {
  const { settings, alb } = options;
  const routes = settings.routes;
  const buckets = tokenBuckets(routes, performance.now());
  const limit = settings.payloadLimitBytes;
  const lingerMs = options.lingerMs ?? LINGER_IDLE_MS;
  const cors = settings.cors;
  const authorizers = authorizersOf(routes);
  const forward = integration(settings, alb, options.bodyBudget ?? new BodyBudget());
  const addedFields = FORWARDED_FIELDS + settings.headerMappings.length;

  return (req, res, expectsContinue) => {
    const started = performance.now();
    const head = readRequestHead(req.rawHeaders);
    const size = Math.max(measured(req.socket)?.bytes ?? 0, headBytes(req, head));
    const authority = toOriginForm(req);
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const request = new ApiRequest(req, res, {
      started,
      path,
      lingerMs,
      hasBody: head.hasBody,
      expectsContinue,
      userAgent: head.userAgent,
      domainName: hostname(authority ?? head.host),
      cors,
      origin: req.headers.origin,
    });
    res.on('close', () => finish(request, log, observer));
    const refused = headRefusal(
      { http11: isHttp11Request(req), headBytes: size, fields: head.kept.length / 2 },
      addedFields,
    );
    if (refused !== undefined) return request.fail(refused);
    if (head.otherCoding) return request.fail(NOT_IMPLEMENTED);

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

    const tooLarge = payloadRefusal(head.contentLength, limit);
    if (tooLarge !== undefined) return request.fail(tooLarge);
    const authorize = route.authorizer && authorizers.get(route.authorizer.logicalId);
    if (!authorize) return forward(request, head, authority);
    // The authorizer runs before CORS: a preflight that matches an authorized route is refused
    // for lack of a token, the caveat the template's OPTIONS routes exist for.
    const source = (route.authorizer as JwtAuthorizerSettings).identityHeader;
    authorize(identityOf(req.rawHeaders, source)).then((verdict) =>
      verdict.ok ? forward(request, head, authority) : request.fail(refusal(verdict)),
    );
  };
}

type Forward = (request: ApiRequest, head: RequestHead, authority: string | undefined) => void;

/** The integration: what the API does to a request it hands to the ALB, and its timeout. */
function integration(settings: HttpApiSettings, alb: LoadBalancer, budget: BodyBudget): Forward {
  const limit = settings.payloadLimitBytes;
  const cors = settings.cors;
  const send = sender(settings, alb);
  return (request, head, authority) => {
    if (request.answered || request.res.destroyed) return;
    if (cors !== null && isPreflight(request.httpMethod, request.req.headers)) {
      return request.answerPreflight(cors);
    }
    // Only now is the body wanted: a client that asked may send it.
    request.continueBody();
    if (!head.hasBody || head.contentLength !== -1) return send(request, head, authority);
    // A chunked body announces no length: it is read whole first (request-body.ts).
    readWholeBody(request.req, limit, budget, {
      complete: (body, release) => {
        request.res.once('close', release);
        send(request, head, authority, body);
      },
      tooLarge: () => request.fail(PAYLOAD_TOO_LARGE),
    });
  };
}

type Send = (
  request: ApiRequest,
  head: RequestHead,
  authority: string | undefined,
  body?: Buffer,
) => void;

/** Hands the request to the ALB, with the integration's headers, and starts its timeout. */
function sender(settings: HttpApiSettings, alb: LoadBalancer): Send {
  const timeoutMs = settings.integrationTimeoutMs;
  const forwardHost = settings.hostOverwritten ? alb.dnsName : null;
  const mappings = settings.headerMappings;
  const onTimeout = (request: ApiRequest): void => {
    request.integrationErrorMessage = `The integration did not respond within ${timeoutMs} ms`;
    request.fail(INTEGRATION_TIMEOUT);
  };
  return (request, head, authority, body) => {
    if (request.answered || request.res.destroyed) return;
    if (mappings.length > 0) head.kept = applyHeaderMappings(head.kept, mappings, alb.dnsName);
    // API Gateway appends the client's address; the ALB hop then appends the VPC link's and
    // sets X-Forwarded-Proto/Port to its listener's, which is what the replica sees.
    head.forwardedFor = appendForwardedFor(head.forwardedFor, request.sourceIp);
    request.timer = setTimeout(onTimeout, timeoutMs, request);
    request.integrationStarted = performance.now();
    const host = forwardHost ?? (authority === undefined ? head.host : authority);
    alb.forward(request.req, request.res, head, host, '127.0.0.1', request, body);
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
