// Run under valgrind's callgrind by bench/instructions.ts: `<row> <target> <warmup> <count>`.
// Warms the row's app up in-process (the JIT's tiers compile during it), zeroes callgrind's
// counters, drives `count` more requests, and dumps the counters: the dump holds those requests'
// instructions alone, start-up and compilation left out.
import { execFileSync } from 'node:child_process';
import { drive, IN_PROCESS_ROWS, type InProcessRow } from './in-process.ts';

const [row, target, warmup, count] = process.argv.slice(2) as [
  InProcessRow,
  string,
  string,
  string,
];
const fetch = IN_PROCESS_ROWS[row]();
const callgrind = (flag: string) =>
  execFileSync('callgrind_control', [flag, String(process.pid)], { stdio: 'ignore' });

await drive(fetch, target, Number(warmup));
callgrind('--zero');
const answer = await drive(fetch, target, Number(count));
callgrind('--dump');
// The answer, so the harness can tell a counted request from a failed one.
process.stderr.write(`${JSON.stringify({ status: answer?.status })}\n`);
