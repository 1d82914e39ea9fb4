// The fact async-context.ts works around, read from the Node that runs the suite, and the
// service's answer to it: a fresh process's async context frame is still the inactive class
// (Node settles it on the first read of `enabled`, which a server makes only when it clears its
// first timer), and startService() has settled it by the time it listens, before any request.
// In a fresh process each (what a process has already run decides the frame), with Node's
// internals exposed to read the class's prototype.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { START_PROBE_SERVICE } from './probe-service.ts';

/** Runs `body` as a module in a fresh Node; `frame()` names the frame's current class. */
async function inFreshNode(body: string): Promise<unknown> {
  const script = `import { createRequire } from 'node:module';
const acf = createRequire(import.meta.url)('internal/async_context_frame');
const frame = () => Object.getPrototypeOf(acf).name;
${body}`;
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--expose-internals',
    '--input-type=module',
    '--eval',
    script,
  ]);
  return JSON.parse(stdout);
}

describe("Node's async context frame", () => {
  it('is still unsettled in a fresh process (else async-context.ts can go)', async () => {
    expect(await inFreshNode('console.log(JSON.stringify(frame()));')).toBe(
      'InactiveAsyncContextFrame',
    );
  });

  it('is settled by startService() before the server answers anything', async () => {
    const seen = await inFreshNode(`
${START_PROBE_SERVICE}
const listening = frame();
await running.shutdown('probe over');
console.log(JSON.stringify(listening));`);
    expect(seen).toBe('ActiveAsyncContextFrame');
  });
});
