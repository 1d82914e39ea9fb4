// The local internal ALB: Copilot's listener rules (host-header AND path-pattern, no path
// rewrite, default action 503) in front of one target group per service. The HTTP API calls
// `forward` in-process, so a request through the API makes one network hop (to a replica);
// the ALB's own listener serves direct requests the same way.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { endAfterRequest, LINGER_IDLE_MS } from './linger.ts';
import { hostname, type RequestHead, readRequestHead, toOriginForm } from './request-head.ts';
import type { Target, TargetGroup } from './target-group.ts';
import type { ResponseSink, UpstreamConnection } from './upstream.ts';

/** What the HTTP API learns from the ALB about one request it forwarded. */
export interface IntegrationCall {
  /** The request to the replica; the API sets it back to null when it stops waiting. */
  upstream: { destroy(): void } | null;
  /** The target the ALB sent the request to, for the stack's observers (taps.ts). */
  target: Target | null;
  /** The ALB has a status for the request; false when the API has already answered. */
  integrationResponded(status: number): boolean;
  /** Set from Content-Length, or counted when the body is chunked. */
  responseLength: number;
  /** A response header the API adds to everything it answers (API Gateway's request id). */
  readonly responseHeader: string;
  readonly responseHeaderValue: string;
}

export interface ListenerRule {
  service: string;
  /** `/api/books`: the rule's path patterns are this and `/api/books/*`. */
  pathPrefix: string;
  /** Host names the rule accepts besides the ALB's own: `<svc>.<env>.<app>.internal`. */
  hosts: string[];
  group: TargetGroup;
}

// The ALB's fixed pages, byte for byte in shape (nginx-style HTML, `Server: awselb/2.0`).
interface FixedPage {
  status: number;
  headers: string[];
  body: Buffer;
}
function fixedPage(status: number, title: string): FixedPage {
  const body = Buffer.from(
    `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n<center><h1>${status} ${title}</h1></center>\r\n</body>\r\n</html>\r\n`,
  );
  return {
    status,
    body,
    headers: [
      'server',
      'awselb/2.0',
      'content-type',
      'text/html',
      'content-length',
      String(body.length),
    ],
  };
}
const SERVICE_UNAVAILABLE = fixedPage(503, 'Service Temporarily Unavailable');
const BAD_GATEWAY = fixedPage(502, 'Bad Gateway');

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
  /** Host name to the rules that accept it, longest path first (most specific wins). */
  private readonly rulesByHost = new Map<string, ListenerRule[]>();
  private listenerPort = '80';
  /** How long an early answer waits on a silent client's unsent body (linger.ts). */
  lingerMs = LINGER_IDLE_MS;

  constructor(dnsName: string, rules: ListenerRule[]) {
    this.dnsName = dnsName.toLowerCase();
    this.rules = [...rules].sort((a, b) => b.pathPrefix.length - a.pathPrefix.length);
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

  /** The ALB's own listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const head = readRequestHead(req.rawHeaders);
    const peer = req.socket.remoteAddress ?? '';
    const authority = toOriginForm(req);
    this.forward(req, res, head, authority ?? head.host, peer, null);
  };

  /**
   * Routes one request. `host` is the Host to match and send (the API passes the ALB's name,
   * as its integration overwrites Host); `peer` is appended to X-Forwarded-For, as the ALB
   * appends the address the connection came from.
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    head: RequestHead,
    host: string,
    peer: string,
    call: IntegrationCall | null,
  ): void {
    const url = req.url ?? '/';
    const rule = this.match(host, url);
    // No rule, or a group with no target to send to (none registered, or all still in their
    // initial checks): the ALB's 503. All unhealthy is different: the group fails open.
    const target = rule?.group.pick();
    if (rule === undefined || target === undefined) {
      this.answer(req, res, SERVICE_UNAVAILABLE, call, head.hasBody);
      return;
    }
    const method = req.method ?? 'GET';
    const forwardedFor = head.forwardedFor === '' ? peer : `${head.forwardedFor}, ${peer}`;
    const traceId = head.traceId === '' ? newTraceId() : head.traceId;
    const requestHead = `${method} ${url} HTTP/1.1\r\n${head.kept}host: ${host}\r\nx-forwarded-for: ${forwardedFor}\r\nx-forwarded-proto: http\r\nx-forwarded-port: ${this.listenerPort}\r\nx-amzn-trace-id: ${traceId}\r\n\r\n`;
    const exchange = new Exchange(this, req, res, rule.group, target, call, requestHead, head);
    exchange.start(target.pool.acquire());
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
      res.writeHead(page.status, [...page.headers, call.responseHeader, call.responseHeaderValue]);
    } else {
      res.writeHead(page.status, page.headers);
    }
    endAfterRequest(req, res, page.body, { hasBody, idleMs: this.lingerMs });
  }
}

/** One request on its way to a target and its response on the way back. */
class Exchange implements ResponseSink {
  private readonly alb: LoadBalancer;
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse;
  private readonly group: TargetGroup;
  private readonly target: Target;
  private readonly call: IntegrationCall | null;
  private readonly requestHead: string;
  private readonly hasBody: boolean;
  private readonly chunkedBody: boolean;
  private connection: UpstreamConnection | null = null;
  private released = false;
  private retried = false;
  private countBody = false;
  private onBodyData: ((chunk: Buffer) => void) | undefined;
  private onBodyEnd: (() => void) | undefined;
  private readonly onDrain = (): void => this.connection?.resume();

  constructor(
    alb: LoadBalancer,
    req: IncomingMessage,
    res: ServerResponse,
    group: TargetGroup,
    target: Target,
    call: IntegrationCall | null,
    requestHead: string,
    head: RequestHead,
  ) {
    this.alb = alb;
    this.req = req;
    this.res = res;
    this.group = group;
    this.target = target;
    this.call = call;
    this.requestHead = requestHead;
    this.hasBody = head.hasBody;
    this.chunkedBody = head.hasBody && head.contentLength === -1;
    if (call) {
      call.upstream = this;
      call.target = target;
    }
    // Through the API, the API watches the client and calls destroy(); directly, we do.
    else
      res.on('close', () => {
        if (!res.writableFinished) this.destroy();
      });
  }

  start(connection: UpstreamConnection): void {
    this.connection = connection;
    connection.send(this.requestHead, this, this.req.method !== 'HEAD', this.hasBody);
    if (this.hasBody) this.streamBody(connection);
  }

  private streamBody(connection: UpstreamConnection): void {
    const req = this.req;
    this.onBodyData = (chunk: Buffer) => {
      let flushed: boolean;
      if (this.chunkedBody) {
        // Node has decoded the client's chunks; the replica gets them framed again.
        connection.write(`${chunk.length.toString(16)}\r\n`);
        connection.write(chunk);
        flushed = connection.write('\r\n');
      } else flushed = connection.write(chunk);
      if (!flushed) {
        req.pause();
        connection.socket.once('drain', () => req.resume());
      }
    };
    this.onBodyEnd = () => {
      if (this.chunkedBody) connection.write('0\r\n\r\n');
      connection.requestEnded();
    };
    req.on('data', this.onBodyData);
    req.on('end', this.onBodyEnd);
  }

  /** The body stops going to the target (which answered, failed, or was given up on). */
  private stopForwarding(): void {
    if (this.onBodyData) this.req.off('data', this.onBodyData);
    if (this.onBodyEnd) this.req.off('end', this.onBodyEnd);
    this.onBodyData = undefined;
    this.onBodyEnd = undefined;
  }

  head(status: number, headers: string[], contentLength: number): boolean {
    const call = this.call;
    if (call) {
      if (!call.integrationResponded(status)) return false;
      call.responseLength = Math.max(contentLength, 0);
      this.countBody = contentLength < 0;
      headers.push(
        'x-local-target',
        this.target.address,
        call.responseHeader,
        call.responseHeaderValue,
      );
    } else headers.push('x-local-target', this.target.address);
    this.res.writeHead(status, headers);
    return true;
  }

  body(chunk: Buffer): boolean {
    if (this.countBody) (this.call as IntegrationCall).responseLength += chunk.length;
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.onDrain);
    return false;
  }

  end(last?: Buffer): void {
    this.release();
    if (last !== undefined && this.countBody) {
      (this.call as IntegrationCall).responseLength += last.length;
    }
    if (this.onBodyData !== undefined && !this.req.complete) {
      // The target answered before the client finished sending (its own 413, say): the rest
      // of the body goes nowhere, and a connection left mid-request cannot be reused.
      this.stopForwarding();
      this.connection?.destroy();
      endAfterRequest(this.req, this.res, last, { hasBody: true, idleMs: this.alb.lingerMs });
      return;
    }
    this.res.end(last);
  }

  fail(_error: Error, started: boolean): void {
    const connection = this.connection;
    // A reused keep-alive connection the replica had just closed: nothing reached it, so the
    // request can go once more on a fresh connection (nothing of the body was consumed).
    if (!started && !this.retried && !this.hasBody && connection?.reused) {
      this.retried = true;
      this.start(this.target.pool.connect());
      return;
    }
    this.release();
    this.stopForwarding();
    const call = this.call;
    // The API gave up on this request (its integration timeout) and has answered already.
    if (call !== null && call.upstream === null) return;
    if (this.res.headersSent) {
      if (!this.res.writableFinished) this.res.destroy();
      return;
    }
    // The target refused or dropped the connection: the ALB's 502.
    this.alb.answer(this.req, this.res, BAD_GATEWAY, call, this.hasBody);
  }

  /** Stops the exchange: the client went away or the API stopped waiting. */
  destroy(): void {
    this.stopForwarding();
    this.connection?.destroy();
    this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.group.release(this.target);
  }
}
