// Node 24 decides lazily whether AsyncLocalStorage runs on its AsyncContextFrame: the first
// read of `AsyncContextFrame.enabled` swaps that class's prototype from the inactive class to
// the active one (lib/internal/async_context_frame.js, the swap chosen in nodejs/node#54239
// and #54510; read 2026-12-06 on Node 24.21.0, and re-read on every run by this folder's
// test/async-context.test.ts). An HTTP server first reads it when it clears its first timer
// (a socket's close: removeStoresFromResource in lib/internal/timers.js), by which time
// `process.nextTick` and the tick queue have learned the class's first shape, so their loads
// of its methods stay polymorphic, through V8's generic load, for the life of the process:
// about 4,800 instructions a request (seven ticks each), 3-7% of the CPU per request of a
// Node server (bench/README.md, "Node's async context frame"). Settled before the server
// starts, the swap comes before those functions learn anything.
import { AsyncLocalStorage } from 'node:async_hooks';

/** Makes Node settle its async context frame now (creating a store reads `enabled`). */
export function settleAsyncContextFrame(): void {
  new AsyncLocalStorage();
}
