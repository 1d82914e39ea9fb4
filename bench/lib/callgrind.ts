// What both instruction counts (bench/instructions.ts in-process, server-count.ts whole
// servers) say to valgrind's callgrind, and how they read what it wrote.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** valgrind's arguments to count `nodeArgs` run by this Node, dumps going to `dir`. */
export function callgrindArgs(dir: string, nodeArgs: string[]): string[] {
  return [
    '--tool=callgrind',
    '--collect-atstart=yes',
    `--callgrind-out-file=${path.join(dir, 'out')}`,
    // Node writes machine code at run time: valgrind must see every write to code.
    '--smc-check=all-non-file',
    process.execPath,
    // The JIT compiles and the GC marks on this thread: counted alike from run to run.
    '--single-threaded',
    ...nodeArgs,
  ];
}

/** The instructions in the dump callgrind_control --dump wrote in `dir`; NaN while there is none. */
export function dumpedTotal(dir: string): number {
  const dump = readdirSync(dir).find((name) => name.startsWith('out.'));
  const text = dump ? readFileSync(path.join(dir, dump), 'utf8') : '';
  return Number(/^(?:summary|totals): (\d+)/m.exec(text)?.[1]);
}
