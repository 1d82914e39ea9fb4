// A chunked request body, read whole before the integration is called. API Gateway takes a
// request's payload before it calls the integration, and its 10 MB quota is the payload's,
// however it is framed ("Quotas for configuring and running an HTTP API"): a body announced
// by Content-Length is checked before a byte of it is read (http-api.ts) and streams on; a
// chunked one announces nothing, so it is read here, counted against the quota as it comes,
// and sent on with its length once complete. That API Gateway holds a chunked body until it
// is complete is assumed (docs/verified.md).
//
// Bodies held at once are bounded too, so many uploads cannot exhaust this process's memory:
// past the budget, the bodies still arriving wait (their connections paused) until earlier
// ones have been sent on or refused.
import type { IncomingMessage } from 'node:http';

/** Bytes of chunked bodies held at once, across all requests: a local choice (ten full payloads). */
export const HELD_BODIES_MAX_BYTES = 100 * 1024 * 1024;

export class BodyBudget {
  private held = 0;
  private readonly waiting: (() => void)[] = [];
  readonly maxBytes: number;

  constructor(maxBytes: number = HELD_BODIES_MAX_BYTES) {
    this.maxBytes = maxBytes;
  }

  get heldBytes(): number {
    return this.held;
  }

  /** Counts `bytes` as held; false once the budget is spent (the caller then waits). */
  hold(bytes: number): boolean {
    this.held += bytes;
    return this.held <= this.maxBytes;
  }

  /** Calls `resume` once held bytes are back under the budget. */
  whenFree(resume: () => void): void {
    if (this.held <= this.maxBytes) resume();
    else this.waiting.push(resume);
  }

  release(bytes: number): void {
    this.held -= bytes;
    while (this.held <= this.maxBytes && this.waiting.length > 0) this.waiting.shift()?.();
  }
}

export interface BodyOutcome {
  /** The whole body, once it has arrived; its bytes stay held until `release`. */
  complete(body: Buffer, release: () => void): void;
  /** The body went past `limit`: nothing is held anymore, the rest is the caller's to read. */
  tooLarge(): void;
}

/** Reads `req`'s body to its end, at most `limit` bytes, within `budget`. */
export function readWholeBody(
  req: IncomingMessage,
  limit: number,
  budget: BodyBudget,
  outcome: BodyOutcome,
): void {
  const chunks: Buffer[] = [];
  let received = 0;
  let held = 0;
  const release = (): void => {
    budget.release(held);
    held = 0;
  };
  const onData = (chunk: Buffer): void => {
    received += chunk.length;
    if (received > limit) {
      stop();
      chunks.length = 0;
      release();
      outcome.tooLarge();
      return;
    }
    chunks.push(chunk);
    held += chunk.length;
    if (!budget.hold(chunk.length)) {
      req.pause();
      budget.whenFree(() => req.resume());
    }
  };
  const onEnd = (): void => {
    stop();
    outcome.complete(Buffer.concat(chunks, received), release);
  };
  // A client that goes away before the body's 'end' (onEnd stops listening): what it sent is
  // dropped. Mid-body, or with the whole body sent while its request waits on the budget:
  // node:http then destroys the paused request, complete but without an 'end', and the bytes
  // held for it would otherwise stay held for good (request-body-close.test.ts).
  const onClose = (): void => {
    stop();
    chunks.length = 0;
    release();
  };
  const stop = (): void => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('close', onClose);
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('close', onClose);
}
