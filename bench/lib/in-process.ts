// Requests driven through @hono/node-server's request listener in this process, with no socket:
// what a server does per request above Node's HTTP parser and below its socket writes (the
// adapter's Request, the app, the log line, the adapter writing the answer into Node's
// ServerResponse, which keeps the bytes when it has no socket). bench/instructions.ts counts
// the instructions this takes; the HTTP rows of bench/run.ts measure the whole request.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { createApp } from '../../services/book-service/src/app.ts';
import { createLifecycle } from '../../services/common/src/lifecycle.ts';
import { createLogger } from '../../services/common/src/logger.ts';
import { floorFetch } from '../fixtures/floor-app.ts';
import { checks } from '../fixtures/floor-checks.ts';

/** Where the apps' log lines go: stdout, as in their servers, unless told otherwise (tests). */
type Write = ((chunk: string) => void) | undefined;

/** The apps that can be driven in-process, as fetch functions, logging at `info`. */
export const IN_PROCESS_ROWS = {
  service: (write?: Write) =>
    createApp({
      lifecycle: createLifecycle(),
      logger: createLogger({ service: 'book-service', write }),
    }).fetch,
  floor: (write?: Write) => floorFetch(createLogger({ service: 'floor', write }), checks),
} as const;

export type InProcessRow = keyof typeof IN_PROCESS_ROWS;

/** One socket for every request: IncomingMessage only keeps it, and nothing here writes to it. */
const socket = new Socket();

/** A GET of `target` as Node's parser hands it to a listener (headers as wrk sends them). */
function incoming(target: string): IncomingMessage {
  const request = new IncomingMessage(socket);
  request.method = 'GET';
  request.url = target;
  request.httpVersionMajor = 1;
  request.httpVersionMinor = 1;
  request.headers = { host: '127.0.0.1:3000' };
  request.rawHeaders = ['Host', '127.0.0.1:3000'];
  request.complete = true;
  return request;
}

export interface Answer {
  status: number;
  /** The response as Node would put it on the wire: head and body. */
  wire: string;
}

/** Sends `count` GETs of `target` to `fetch` one after another; returns the last answer. */
export async function drive(
  fetch: Parameters<typeof getRequestListener>[0],
  target: string,
  count: number,
): Promise<Answer | undefined> {
  const listener = getRequestListener(fetch);
  let last: ServerResponse | undefined;
  for (let i = 0; i < count; i++) {
    const request = incoming(target);
    last = new ServerResponse(request);
    await listener(request, last);
  }
  if (last === undefined) return undefined;
  const buffered = (last as unknown as { outputData: { data: string | Buffer }[] }).outputData;
  return { status: last.statusCode, wire: buffered.map(({ data }) => String(data)).join('') };
}
