// The service's answer to V8's memory reducer (memory-reducer.ts): startService() sets the
// option once it listens, not before (an option set during start-up slows the rest of it), and
// the Node that runs the suite knows the option (setFlagsFromString ignores one it does not).
// In a fresh process, with node:v8's setter watched.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { KEEP_MAPS_WHEN_IDLE } from '../src/memory-reducer.ts';
import { START_PROBE_SERVICE } from './probe-service.ts';

const run = promisify(execFile);

describe("V8's memory reducer", () => {
  it("turns off, by an option this Node's V8 has, the reducer's memory-reducing collections", async () => {
    // Found by V8's own description of it: memory-reducer.ts would set nothing on a V8 without it.
    const { stdout } = await run(process.execPath, ['--v8-options']);
    const option = /^ {2}--([\w-]+) \(memory reducer runs GC with ReduceMemoryFootprint flag\)$/m;
    expect(KEEP_MAPS_WHEN_IDLE).toBe(`--no-${option.exec(stdout)?.[1]}`);
  });

  it('is told to keep maps by startService(), once, after the server listens', async () => {
    const script = `import v8 from 'node:v8';
const calls = [];
const set = v8.setFlagsFromString;
v8.setFlagsFromString = (flags) => {
  calls.push({ flags, listening: process.getActiveResourcesInfo().includes('TCPServerWrap') });
  set(flags);
};
${START_PROBE_SERVICE}
await running.shutdown('probe over');
console.log(JSON.stringify(calls));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', script]);
    expect(JSON.parse(stdout)).toEqual([{ flags: KEEP_MAPS_WHEN_IDLE, listening: true }]);
  });
});
