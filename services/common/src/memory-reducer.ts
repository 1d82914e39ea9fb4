// V8's memory reducer, told to keep the request path's maps. When a task's traffic pauses, the
// reducer starts a collection which by default reduces memory footprint (V8
// src/heap/memory-reducer.cc, MemoryReducer::NotifyTimer), and such a collection retains no
// maps (src/heap/mark-compact.cc, MarkCompactCollector::RetainMaps). On book-service each one
// deoptimised about 150 functions of the request path at once, which came back 20-30% more
// expensive a request for the rest of the task's life (bench/README.md, "The slowdown found").
// With `--no-memory-reducer-favors-memory` the reducer still collects when a task is idle, as an
// ordinary collection, which keeps them.
//
// Set once the server listens, not on node's command line: a V8 option there changes V8's flag
// hash, so V8 rejects the code cache of Node's built-in modules, and book-service took 33 ms
// longer from start to its first 200 (139 ms against 106, medians of 11 starts). The reducer
// reads the option each time its timer fires, so setting it at run time is enough.
import v8 from 'node:v8';

export const KEEP_MAPS_WHEN_IDLE = '--no-memory-reducer-favors-memory';

/** From now on, the memory reducer's collections keep maps (see above). */
export function keepMapsWhenIdle(): void {
  v8.setFlagsFromString(KEEP_MAPS_WHEN_IDLE);
}
