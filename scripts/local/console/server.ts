// The console's HTTP server, on its own port (never under the API's, where every path that is
// not a route must stay API Gateway's 404): the page's files as they are on disk, the feed as
// JSON and as Server-Sent Events, and the actions. Plain node:http: six routes and one event
// stream need no framework. Errors are application/problem+json (RFC 9457).
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { answerAndClose, serverOptions } from '../http/listeners.ts';
import { OneAtATime } from '../http/one-at-a-time.ts';
import { EventStreams, STREAM_LIMITS, type StreamLimits } from './event-streams.ts';
import { type ConsoleFeed, FeedError, REPLICA_ACTIONS, type ReplicaAction } from './feed.ts';
import { refusalOf } from './request-rules.ts';

const PAGE_DIR = path.join(import.meta.dirname, 'page');
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/charts.js': { file: 'charts.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
/** An action's body is a few dozen bytes; past this it is refused (413) before it is read. */
export const MAX_BODY_BYTES = 4_096;

/** A request body this server has not read (an answer before it): it is never read at all. */
function bodyLeftUnread(req: http.IncomingMessage): boolean {
  const announced = Number(req.headers['content-length'] ?? 0) > 0;
  return (announced || req.headers['transfer-encoding'] !== undefined) && !req.readableEnded;
}

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
  // Closing the connection after the answer is what leaves the rest of such a body unread.
  if (bodyLeftUnread(res.req)) res.shouldKeepAlive = false;
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', JSON.stringify(value));
}

function problem(res: http.ServerResponse, status: number, title: string, detail: string): void {
  const body = { type: 'about:blank', title, status, detail };
  send(res, status, 'application/problem+json', JSON.stringify(body));
}

/**
 * The request's body as a JSON object; with `emptyIsObject`, no body at all reads as `{}`. At
 * most MAX_BODY_BYTES are kept: a larger one, announced or not, is refused (413) as soon as it
 * is known, nothing more of it is read, and the connection is closed after the answer, so an
 * upload of any size costs at most that much.
 */
function readJson(
  req: http.IncomingMessage,
  emptyIsObject = false,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new FeedError(413, `over ${MAX_BODY_BYTES} bytes`);
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= MAX_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.off('end', onEnd);
      chunks.length = 0;
      reject(tooLarge());
    };
    const onEnd = () => {
      if (emptyIsObject && received === 0) {
        resolve({});
        return;
      }
      try {
        const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (value !== null && typeof value === 'object') resolve(value as Record<string, unknown>);
        else reject(new FeedError(400, 'the body must be a JSON object'));
      } catch {
        reject(new FeedError(400, 'the body is not JSON'));
      }
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}

async function act(
  feed: ConsoleFeed,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
): Promise<void> {
  if (url.pathname === '/api/probe') {
    const body = await readJson(req);
    const host = typeof body.host === 'string' ? body.host : '';
    const pathname = typeof body.path === 'string' ? body.path : '';
    return json(res, 200, await feed.probe(host, pathname));
  }
  const match = /^\/api\/replicas\/([a-z0-9-]+)\/(\d+)\/([a-z]+)$/.exec(url.pathname);
  const action = match?.[3] as ReplicaAction | undefined;
  if (match === null || action === undefined || !REPLICA_ACTIONS.includes(action)) {
    throw new FeedError(
      404,
      `no action at POST ${url.pathname} (try POST /api/replicas/<service>/<slot>/<${REPLICA_ACTIONS.join('|')}>)`,
    );
  }
  // An optional `{"task": "<id>"}`: the task the caller means (the page's row), refused with
  // 409 once it is no longer the slot's current task.
  const { task } = await readJson(req, true);
  if (task !== undefined && typeof task !== 'string') {
    throw new FeedError(400, '"task" must be a task id such as "127.0.0.1:41441"');
  }
  json(res, 202, { message: await feed.act(match[1] as string, Number(match[2]), action, task) });
}

/** Refuses what a page on another site could send: a foreign Host, Origin or content type. */
function refuse(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const refusal = refusalOf(req.method ?? 'GET', req.headers);
  if (refusal === undefined) return false;
  problem(res, refusal.status, refusal.title, refusal.detail);
  return true;
}

/**
 * The request target as a URL: origin-form read as a path (`//x/y` is a path, not the authority
 * `x`, which `new URL(target, base)` would make it), absolute-form (RFC 9112 §3.2.2) as its own
 * URL; undefined for anything else (`*`, `http://`), which no route serves.
 */
function targetOf(target: string): URL | undefined {
  try {
    return new URL(target.startsWith('/') ? `http://console.invalid${target}` : target);
  } catch {
    return undefined;
  }
}

async function route(
  feed: ConsoleFeed,
  streams: EventStreams,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  if (refuse(req, res)) return;
  const url = targetOf(req.url ?? '/');
  if (url === undefined) {
    return problem(res, 400, 'Bad Request', `the request target is not a path: ${req.url}`);
  }
  const file = FILES[url.pathname];
  if (req.method === 'POST') return act(feed, req, res, url);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD, POST');
    return problem(res, 405, 'Method Not Allowed', `${req.method} is not served here`);
  }
  if (file !== undefined)
    return send(res, 200, file.type, await readFile(path.join(PAGE_DIR, file.file)));
  if (url.pathname === '/events') {
    if (streams.open(req, res)) return;
    res.setHeader('retry-after', '10');
    // A client that opens streams without end gets its connections closed, not kept.
    res.shouldKeepAlive = false;
    return problem(res, 503, 'Service Unavailable', 'too many event streams are open: close a tab');
  }
  if (url.pathname === '/api/topology') return json(res, 200, feed.topology());
  if (url.pathname === '/api/requests') return json(res, 200, feed.recentRequests());
  if (url.pathname === '/api/stats') return json(res, 200, feed.stats());
  problem(res, 404, 'Not Found', `nothing at ${url.pathname}; the console is at /`);
}

/**
 * What node:http's parser refused (a NUL in a header, a head too large) or its slow-client
 * limits cut, answered as a problem like every other answer rather than node:http's bare one,
 * with the same statuses (431, 408, else 400). Its turn on the connection, after any answer
 * under way, is OneAtATime's, as on the API's and the ALB's listeners.
 */
export function answerParserError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const status =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 408
        : 400;
  const title = http.STATUS_CODES[status] as string;
  const detail = `node:http could not take the request (${error.code ?? 'no code'})`;
  const body = JSON.stringify({ type: 'about:blank', title, status, detail });
  answerAndClose(
    socket,
    `HTTP/1.1 ${status} ${title}\r\ncontent-type: application/problem+json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}

export function createConsoleServer(
  feed: ConsoleFeed,
  limits: StreamLimits = STREAM_LIMITS,
): http.Server {
  const streams = new EventStreams(feed, limits);
  // A connection's requests one at a time, so a refused one is answered after those before it.
  const serial = new OneAtATime();
  // The listeners' slow-client limits: a request's head within 10 s, its whole within 30 s.
  const server = http.createServer(
    serverOptions(),
    serial.wrap((req, res) => {
      route(feed, streams, req, res).catch((error: Error) => {
        if (res.headersSent) return void res.destroy();
        if (error instanceof FeedError) {
          return problem(
            res,
            error.status,
            http.STATUS_CODES[error.status] ?? 'Error',
            error.message,
          );
        }
        problem(res, 500, 'Internal Server Error', error.message);
      });
    }),
  );
  server.on('clientError', serial.clientErrors(answerParserError));
  return server;
}
