// Answering before the client has finished sending its request, without losing the answer.
//
// A client like Python's http.client writes the whole body before it reads a byte of the
// response. If the server answers early (a 413, a 404, a replica's own 413) and closes the
// connection while that body is still arriving, the unread bytes make the server's kernel
// send a reset, and the client gets "connection reset" or "broken pipe" instead of the answer
// that was already on its way. RFC 9112 §9.6 (Tear-down) names the cure, a "lingering
// close": keep reading, and discarding, until the client is done, then close. Apache httpd
// reads on for at most 30 s in all and gives up after 2 s without a byte
// (MAX_SECS_TO_LINGER and SECONDS_TO_LINGER, server/connection.c and its MPMs).
//
// Here the answer is written at once (a client that reads while it sends, like curl, sees it
// at once), the rest of the request is read and discarded, and the response is ended once the
// request has ended, which lets Node close the connection or read the next request. Bounds:
// the client falling silent for `idleMs` (then the connection is closed), and the listeners'
// request timeout (30 s, listeners.ts), past which Node closes it whatever is still coming.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Apache's SECONDS_TO_LINGER. */
export const LINGER_IDLE_MS = 2_000;

/**
 * Ends `res` (with `last`, if given) once the whole request has been received: at once when
 * the request has no body (`hasBody`, from its head; `req.complete` is still false in a
 * request handler even then) or has been read already.
 */
export function endAfterRequest(
  req: IncomingMessage,
  res: ServerResponse,
  last: Buffer | undefined,
  options: { hasBody: boolean; idleMs: number },
): void {
  if (!options.hasBody || req.complete || req.destroyed) {
    res.end(last);
    return;
  }
  // The head goes out now even with no bytes to follow it (a target's bare 413, a 204, a HEAD
  // answer): Node holds a head back until the first write or the end, and a client that reads
  // while it sends may stop sending on seeing it (RFC 9112 §9.5). Not an empty write: for a
  // response with no body (204, 304, HEAD) node:http ignores writes, head and all
  // (_http_outgoing.js write_), where flushHeaders() sends it.
  if (last !== undefined && last.length > 0) res.write(last);
  else res.flushHeaders();
  // The client has stopped sending: nothing unread is left to cause a reset, so close.
  const idle = setTimeout(() => res.end(() => req.socket.destroy()), options.idleMs);
  req.on('data', () => idle.refresh());
  req.once('close', () => clearTimeout(idle));
  req.once('end', () => {
    clearTimeout(idle);
    res.end();
  });
  req.resume();
}
