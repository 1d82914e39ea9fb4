// The ALB's side of a request to a target, on undici: a `Pool` of keep-alive connections per
// target, and one dispatch per request whose handler streams the target's response back to
// the client. undici parses the response, frames both bodies and manages the connections;
// what stays here is the proxy's part: which headers pass, backpressure both ways, what the
// client sees when the target answers early, fails or is given up on.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { type Dispatcher, Pool } from 'undici';
import { endAfterRequest } from '../http/linger.ts';
import { withoutConnectionOptions } from '../http/request-head.ts';

/**
 * Connections the ALB keeps to one target at most. The ALB pipelines nothing to targets and
 * multiplexes clients' requests over its connections to them ("How Elastic Load Balancing
 * works", HTTP connections); how many it opens is not published: this bound is a local choice
 * (docs/verified.md). Past it, requests wait for a connection of the pool.
 */
export const MAX_CONNECTIONS_PER_TARGET = 128;

/**
 * Keep-alive connections to one target (`127.0.0.1:<port>`), reused across requests. A target
 * that sends nothing (no response head, or no body bytes) for `idleTimeoutMs` has the request
 * given up on: the ALB's idle timeout, after which it answers 504 (load-balancer.ts).
 */
export function targetPool(port: number, idleTimeoutMs: number): Pool {
  return new Pool(`http://127.0.0.1:${port}`, {
    connections: MAX_CONNECTIONS_PER_TARGET,
    headersTimeout: idleTimeoutMs,
    bodyTimeout: idleTimeoutMs,
  });
}

/** What the exchange needs from the load balancer and the request it forwards. */
export interface ExchangeRequest {
  req: IncomingMessage;
  res: ServerResponse;
  pool: Pool;
  /** `[name, value, ...]`, Host and X-Forwarded-* included. */
  headers: string[];
  hasBody: boolean;
  /** The whole body, read already; otherwise a body (`hasBody`) streams from `req`. */
  body: Buffer | undefined;
  lingerMs: number;
}

/** How the exchange reports to its owner (load-balancer.ts). */
export interface ExchangeEvents {
  /**
   * The target's status and headers (hop-by-hop ones dropped), to which the owner adds its
   * own; false when nobody waits for the response anymore.
   */
  responded(status: number, contentLength: number, headers: string[]): boolean;
  /** Bytes of a body whose length was not announced. */
  counted(bytes: number): void;
  /** The response is over, whichever way; called once. */
  done(): void;
  /**
   * The target refused or dropped the request before a response started, or (`timedOut`)
   * sent no response head within the idle timeout.
   */
  failed(hasBody: boolean, timedOut: boolean): void;
}

// Response headers that belong to the connection to the target, not to the response: the
// client's connection has its own (node:http sets its framing and keep-alive).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/**
 * `rawHeaders` as undici hands them (Buffers), without hop-by-hop ones and those the target's
 * Connection header names (RFC 9110 §7.6.1); and Content-Length.
 */
function passedHeaders(raw: readonly (Buffer | string)[]): {
  headers: string[];
  length: number;
} {
  const headers: string[] = [];
  let length = -1;
  let connection = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]?.toString('latin1') as string;
    const value = raw[i + 1]?.toString('latin1') as string;
    const size = name.length;
    // Only names of these lengths can need attention: skip lower-casing the others.
    if (size === 10 || size === 14 || size === 17) {
      const lower = name.toLowerCase();
      if (lower === 'connection') connection = `${connection},${value}`;
      if (HOP_BY_HOP.has(lower)) continue;
      if (lower === 'content-length') length = Number(value);
    }
    headers.push(name, value);
  }
  return {
    headers: connection === '' ? headers : withoutConnectionOptions(headers, connection),
    length,
  };
}

function abort(controller: Dispatcher.DispatchController): void {
  if (!controller.aborted) controller.abort(new Error('the exchange was stopped'));
}

/** One request on its way to a target and its response on the way back. */
export class Exchange implements Dispatcher.DispatchHandler {
  private readonly request: ExchangeRequest;
  private readonly events: ExchangeEvents;
  private controller: Dispatcher.DispatchController | null = null;
  private body: PassThrough | null = null;
  private responded = false;
  private finished = false;
  private retried = false;
  private countBody = false;

  constructor(request: ExchangeRequest, events: ExchangeEvents) {
    this.request = request;
    this.events = events;
  }

  start(): void {
    const { req, pool, headers, hasBody, body } = this.request;
    if (body !== undefined) {
      pool.dispatch({ method: req.method ?? 'POST', path: req.url ?? '/', headers, body }, this);
      return;
    }
    if (hasBody) {
      // A stream of our own between the client and undici: when the target answers early,
      // the client's request is unpiped and read to its end here (linger.ts), untouched by
      // whatever undici does with the stream it was given.
      this.body = new PassThrough();
      req.pipe(this.body);
    }
    const method = req.method ?? 'GET';
    pool.dispatch({ method, path: req.url ?? '/', headers, body: this.body }, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.finished) abort(controller);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    _headers: unknown,
  ): void {
    if (status < 200) return; // interim (100 Continue): the real one follows
    this.responded = true;
    const { headers, length } = passedHeaders(controller.rawHeaders as Buffer[]);
    const method = this.request.req.method;
    const noBody = method === 'HEAD' || status === 204 || status === 304;
    if (!this.events.responded(status, noBody ? 0 : Math.max(length, 0), headers)) {
      this.finish();
      abort(controller);
      return;
    }
    this.countBody = !noBody && length < 0;
    this.request.res.writeHead(status, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.countBody) this.events.counted(chunk.length);
    const res = this.request.res;
    if (res.write(chunk)) return;
    controller.pause();
    res.once('drain', () => controller.resume());
  }

  onResponseEnd(): void {
    this.finish();
    const { req, res, lingerMs } = this.request;
    if (this.body !== null && !req.complete) {
      // The target answered before the client finished sending (its own 413, say): the rest
      // of the body goes nowhere (undici closes that connection), and the client's request is
      // read to its end so that a client that sends before it reads gets the answer.
      req.unpipe(this.body);
      this.body.destroy();
      endAfterRequest(req, res, undefined, { hasBody: true, idleMs: lingerMs });
      return;
    }
    res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    if (this.finished) return;
    if (this.retryable(error)) {
      this.retried = true;
      this.start();
      return;
    }
    this.finish();
    if (this.body !== null) this.request.req.unpipe(this.body);
    const res = this.request.res;
    if (this.responded) {
      if (!res.writableFinished) res.destroy();
      return;
    }
    const timedOut = (error as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT';
    this.events.failed(this.request.hasBody, timedOut);
  }

  /**
   * A kept-alive connection the target closed just as this request went out on it (a
   * replica closing idle connections as it stops): nothing reached the target, so a request
   * with no body goes once more, on whichever connection the pool has. `bytesRead` tells a
   * reused connection (it carried earlier responses) from a fresh one that was refused.
   */
  private retryable(error: Error): boolean {
    const socket = (error as { socket?: { bytesRead?: number } }).socket;
    return (
      !this.responded &&
      !this.retried &&
      !this.request.hasBody &&
      (error as { code?: string }).code === 'UND_ERR_SOCKET' &&
      (socket?.bytesRead ?? 0) > 0
    );
  }

  /** Stops the exchange: the client went away or the API stopped waiting. */
  destroy(): void {
    if (this.finished) return;
    this.finish();
    if (this.body !== null) this.request.req.unpipe(this.body);
    if (this.controller !== null) abort(this.controller);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.events.done();
  }
}
