// Where V8's code cache for the local stack lives: this process (scripts/local.ts) and every
// replica share it, so every start after the first is faster (figures in bench/README.md).
import os from 'node:os';
import path from 'node:path';

export const COMPILE_CACHE_DIR =
  process.env.NODE_COMPILE_CACHE ?? path.join(os.tmpdir(), 'copilot-http-api-compile-cache');
