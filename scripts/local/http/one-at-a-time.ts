// One request at a time per client connection. node:http parses pipelined requests as they
// arrive and emits each at once: a client that writes 5,000 requests on one connection
// before reading got 5,000 handlers running, and as many connections to a replica. A
// connection's responses go out in order (RFC 9112 §9.3.2), and AWS's load balancers take
// pipelined requests from clients but pipeline nothing to targets ("How Elastic Load
// Balancing works", HTTP connections); that they handle a connection's requests one after
// the other is assumed (docs/verified.md). So the next request on a connection is handled
// once the previous response is over, and reading from the connection is paused while
// requests wait: what a pipelining client sends ahead stays in socket buffers, not here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** What node:http passes to 'clientError': the parser's error, with the bytes it had read. */
export type ClientError = NodeJS.ErrnoException & { rawPacket?: Buffer };

/**
 * Requests node:http may have parsed from one read before the pause takes effect: a 64 KiB
 * read holds at most about 3,000 of the smallest requests. Past this, the client is not
 * pipelining but flooding, and the connection is closed.
 */
export const MAX_WAITING = 4_096;

interface Line {
  /** The request being handled, until its response is over. */
  current: { req: IncomingMessage; res: ServerResponse } | undefined;
  paused: boolean;
  waiting: (() => void)[];
}

export class OneAtATime {
  private readonly lines = new WeakMap<Socket, Line>();

  /** Wraps a request handler: it sees each connection's next request once the last is answered. */
  wrap(handler: Handler): Handler {
    return (req, res) => this.enqueue(req.socket, () => this.run(req, res, handler));
  }

  /** The request being handled on this connection, if any. */
  current(socket: Socket): { req: IncomingMessage; res: ServerResponse } | undefined {
    return this.lines.get(socket)?.current;
  }

  /**
   * Runs `task` once the connection has no request in progress: how an answer written
   * straight to the socket (a parser error) waits its turn behind the responses before it.
   */
  whenIdle(socket: Socket, task: () => void): void {
    this.enqueue(socket, task, false);
  }

  /**
   * A 'clientError' listener: `answer` writes the answer to what node:http's parser refused (or
   * its slow-client sweep cut), in its turn on the connection.
   */
  clientErrors(
    answer: (error: ClientError, socket: Socket) => void,
  ): (error: ClientError, socket: Socket) => void {
    return (error, socket) => {
      if (error.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const current = this.current(socket);
      // Nothing in progress, or the request in progress is the one refused (its body broke
      // off or came too slowly) and none of its answer is out: answer at once.
      if (current === undefined || (!current.req.complete && !current.res.headersSent)) {
        answer(error, socket);
        return;
      }
      // A later request on the connection was refused: its answer follows the one under way.
      if (current.req.complete) {
        this.whenIdle(socket, () => (socket.writable ? answer(error, socket) : socket.destroy()));
        return;
      }
      socket.destroy();
    };
  }

  private enqueue(socket: Socket, task: () => void, request = true): void {
    const line = this.lineOf(socket);
    if (line.current === undefined) {
      task();
      return;
    }
    line.waiting.push(task);
    if (line.waiting.length > MAX_WAITING) {
      socket.destroy();
      return;
    }
    if (request && !line.paused) {
      line.paused = true;
      // Not at once: node:http resumes the connection as each request's message completes
      // (_http_incoming.js readStart, from parserOnMessageComplete), which follows this request's
      // 'request' event within the same read. Paused once the parser is done with the read, it
      // stays paused until the waiting requests are through (tried on Node 24.21).
      process.nextTick(() => {
        if (line.paused) socket.pause();
      });
    }
  }

  private lineOf(socket: Socket): Line {
    let line = this.lines.get(socket);
    if (line === undefined) {
      line = { current: undefined, paused: false, waiting: [] };
      this.lines.set(socket, line);
    }
    return line;
  }

  private run(req: IncomingMessage, res: ServerResponse, handler: Handler): void {
    const socket = req.socket;
    const line = this.lineOf(socket);
    line.current = { req, res };
    res.once('close', () => this.next(socket, line));
    handler(req, res);
  }

  private next(socket: Socket, line: Line): void {
    line.current = undefined;
    // Whatever waits on a closed connection is never answered. (The response's 'close' comes
    // before any listener this module could add to the socket's: node:http adds its own first.)
    if (socket.destroyed) {
      line.waiting.length = 0;
      return;
    }
    const task = line.waiting.shift();
    if (task !== undefined) {
      task();
      return;
    }
    if (line.paused) {
      line.paused = false;
      socket.resume();
    }
  }
}
