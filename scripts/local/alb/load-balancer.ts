// The local internal ALB: Copilot's listener rules (host-header AND path-pattern, no path
// rewrite, default action 503) in front of one target group per service. The HTTP API calls
// `forward` in-process, so a request through the API makes one network hop (to a replica);
// the ALB's own listener serves direct requests the same way.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { endAfterRequest, LINGER_IDLE_MS } from '../http/linger.ts';
import {
  appendForwardedFor,
  hostname,
  isHttp11Request,
  type RequestHead,
  readRequestHead,
  toOriginForm,
} from '../http/request-head.ts';
import {
  BAD_GATEWAY,
  BAD_REQUEST,
  type FixedPage,
  GATEWAY_TIMEOUT,
  SERVICE_UNAVAILABLE,
  VERSION_NOT_SUPPORTED,
} from './fixed-pages.ts';
import type { TargetGroup } from './target-group.ts';
import { Exchange, type ExchangeEvents } from './upstream.ts';

/** What the HTTP API learns from the ALB about one request it forwarded. */
export interface IntegrationCall {
  /** The request to the replica; the API sets it back to null when it stops waiting. */
  upstream: { destroy(): void } | null;
  /** The ALB has a status for the request; false when the API has already answered. */
  integrationResponded(status: number): boolean;
  /** Set from Content-Length, or counted when the body is chunked. */
  responseLength: number;
  /**
   * What the API does to the headers of every integration response before the client gets
   * them (API Gateway's request id; the CORS headers when the API has a CORS configuration).
   */
  addHeaders(headers: string[]): void;
  /** Set by the ALB: the service whose rule matched, and the target it picked (if any). */
  rule: string | undefined;
  target: string | undefined;
}

export interface ListenerRule {
  service: string;
  /** `/api/books`: the rule's path patterns are this and `/api/books/*`. */
  pathPrefix: string;
  /** Host names the rule accepts besides the ALB's own: `<svc>.<env>.<app>.internal`. */
  hosts: string[];
  group: TargetGroup;
}

// X-Amzn-Trace-Id roots: `1-<epoch seconds hex>-<96-bit id>`; a per-process random prefix
// and a counter make the id unique without drawing random bytes per request.
const tracePrefix = randomBytes(6).toString('hex');
let traceCounter = 0;
function newTraceId(): string {
  traceCounter = (traceCounter + 1) % 0xffffffffffff;
  return `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${tracePrefix}${traceCounter.toString(16).padStart(12, '0')}`;
}

export class LoadBalancer {
  /** The ALB's "DNS name": the Host the HTTP API integration sets. */
  readonly dnsName: string;
  readonly rules: readonly ListenerRule[];
  /** Host name to the rules that accept it, in priority order. */
  private readonly rulesByHost = new Map<string, ListenerRule[]>();
  private listenerPort = '80';
  /** How long an early answer waits on a silent client's unsent body (linger.ts). */
  lingerMs = LINGER_IDLE_MS;

  /**
   * `rules` in priority order, the order they were deployed in: the ALB evaluates the lowest
   * priority first, and Copilot gives each new rule the listener's highest priority + 1
   * (aws/copilot-cli v1.33.2 cf-custom-resources/lib/alb-rule-priority-generator.js
   * calculateNextRulePriority), so where paths overlap the service deployed first wins, however
   * specific the other's path. Locally "deployed first" is manifest order (by folder name), the
   * order deploy.ts deploys the services in; stack.ts passes them so.
   */
  constructor(dnsName: string, rules: ListenerRule[]) {
    this.dnsName = dnsName.toLowerCase();
    this.rules = [...rules];
    for (const rule of this.rules) {
      for (const host of [this.dnsName, ...rule.hosts.map((h) => h.toLowerCase())]) {
        const list = this.rulesByHost.get(host) ?? [];
        list.push(rule);
        this.rulesByHost.set(host, list);
      }
    }
  }

  /** The port in X-Forwarded-Port: the listener's (80 in the cloud, the local port here). */
  set port(port: number) {
    this.listenerPort = String(port);
  }

  /** The rule Copilot's listener would apply, or undefined (the default action: 503). */
  match(host: string, url: string): ListenerRule | undefined {
    const rules = this.rulesByHost.get(hostname(host));
    if (rules === undefined) return undefined;
    for (const rule of rules) {
      const prefix = rule.pathPrefix;
      if (!url.startsWith(prefix)) continue;
      // `/api/books` or `/api/books/*`: the next character ends the path or starts a segment.
      const next = url.charCodeAt(prefix.length);
      if (Number.isNaN(next) || next === 0x2f /* / */ || next === 0x3f /* ? */) return rule;
    }
    return undefined;
  }

  /** The ALB's own listener (listener.ts puts it on a server). */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (!isHttp11Request(req)) {
      const page = req.httpVersionMajor === 2 ? VERSION_NOT_SUPPORTED : BAD_REQUEST;
      res.shouldKeepAlive = false;
      this.answer(req, res, page, null, false);
      return;
    }
    const head = readRequestHead(req.rawHeaders);
    const peer = req.socket.remoteAddress ?? '';
    const authority = toOriginForm(req);
    this.forward(req, res, head, authority ?? head.host, peer, null);
  };

  /**
   * Routes one request. `host` is the Host to match and send (the API passes the ALB's name,
   * as its integration overwrites Host); `peer` is appended to X-Forwarded-For, as the ALB
   * appends the address the connection came from. `body`: the whole body, when the caller
   * has read it already (the API reads a chunked one before it calls the integration).
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    head: RequestHead,
    host: string,
    peer: string,
    call: IntegrationCall | null,
    body?: Buffer,
  ): void {
    const url = req.url ?? '/';
    const rule = this.match(host, url);
    // No rule, or a group with no target to send to (none registered, or all still in their
    // initial checks): the ALB's 503. All unhealthy is different: the group fails open.
    const target = rule?.group.pick();
    if (call !== null) {
      call.rule = rule?.service;
      call.target = target?.address;
    }
    if (target === undefined) {
      this.answer(req, res, SERVICE_UNAVAILABLE, call, head.hasBody);
      return;
    }
    const group = (rule as ListenerRule).group;
    const forwardedFor = appendForwardedFor(head.forwardedFor, peer);
    const traceId = head.traceId === '' ? newTraceId() : head.traceId;
    const headers = head.kept;
    headers.push('host', host, 'x-forwarded-for', forwardedFor, 'x-forwarded-proto', 'http');
    headers.push('x-forwarded-port', this.listenerPort, 'x-amzn-trace-id', traceId);
    const exchange = new Exchange(
      {
        req,
        res,
        pool: target.pool,
        headers,
        hasBody: head.hasBody,
        body,
        lingerMs: this.lingerMs,
      },
      this.exchangeEvents(req, res, call, target.address, () => group.release(target)),
    );
    // Through the API, the API watches the client and calls destroy(); directly, we do.
    if (call) call.upstream = exchange;
    else
      res.on('close', () => {
        if (!res.writableFinished) exchange.destroy();
      });
    exchange.start();
  }

  /** What the ALB does with an exchange's outcome (`target`: its address); `release` frees its slot. */
  private exchangeEvents(
    req: IncomingMessage,
    res: ServerResponse,
    call: IntegrationCall | null,
    target: string,
    release: () => void,
  ): ExchangeEvents {
    return {
      responded: (status, contentLength, headers) => {
        headers.push('x-local-target', target);
        if (call === null) return true;
        if (!call.integrationResponded(status)) return false;
        call.responseLength = contentLength;
        call.addHeaders(headers);
        return true;
      },
      counted: (bytes) => {
        if (call) call.responseLength += bytes;
      },
      done: release,
      failed: (hasBody, timedOut) => {
        // The target did not answer within the idle timeout: the ALB's 504; it refused or
        // dropped the connection: its 502. (When the API gave up first, its integration
        // timeout, it has answered already, and answer() writes nothing.)
        this.answer(req, res, timedOut ? GATEWAY_TIMEOUT : BAD_GATEWAY, call, hasBody);
      },
    };
  }

  /** Answers with one of the ALB's fixed pages (unless the API has answered already). */
  answer(
    req: IncomingMessage,
    res: ServerResponse,
    page: FixedPage,
    call: IntegrationCall | null,
    hasBody: boolean,
  ): void {
    if (call) {
      if (!call.integrationResponded(page.status)) return;
      call.responseLength = page.body.length;
      const headers = [...page.headers];
      call.addHeaders(headers);
      res.writeHead(page.status, headers);
    } else {
      res.writeHead(page.status, page.headers);
    }
    endAfterRequest(req, res, page.body, { hasBody, idleMs: this.lingerMs });
  }
}

/**
 * Fields a target receives besides the client's own: the five the ALB sets (Host,
 * X-Forwarded-For, -Proto, -Port, X-Amzn-Trace-Id, the client's own dropped) and the
 * `Connection: keep-alive` of the connection it is sent on (upstream.ts).
 */
export const FORWARDED_FIELDS = 6;
