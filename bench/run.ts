// `npm run bench`: the services and the local request path side by side with their baselines,
// in one run of interleaved rounds. Prints a table of medians, ratios and goals, and writes the
// same as JSON under bench/results/. See bench/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Options, parseOptions, USAGE } from './lib/options.ts';
import { killAllSpawned } from './lib/proc.ts';
import { estimateSeconds, runBench } from './lib/runner.ts';
import { formatReport } from './lib/table.ts';

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    // A flag the bench cannot run with: what and why, then where the flags are listed.
    process.stderr.write(
      `bench: invalid command line: ${(error as Error).message}\nnext: npm run bench -- --help\n`,
    );
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  // A hard stop past the bound, whatever hangs: no server is left behind.
  const deadline = setTimeout(
    () => {
      log(`stopped: the run exceeded --max-seconds ${options.maxSeconds}`);
      killAllSpawned();
      process.exit(2);
    },
    (options.maxSeconds + 30) * 1000,
  );
  deadline.unref();
  log(`rows: ${options.rows.join(', ')}; estimate ${estimateSeconds(options, options.rows)} s`);
  const record = await runBench(options, log);
  mkdirSync(options.outDir, { recursive: true });
  const file = path.join(options.outDir, `${record.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  process.stdout.write(
    `${formatReport(record)}\n\nwritten to ${path.relative(process.cwd(), file)}\n`,
  );
  // The guard fails the command when book-service got slower than its bound allows.
  return record.guard?.status === 'FAIL' ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllSpawned();
    process.exit(130);
  });
}
process.once('exit', killAllSpawned);

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`failed: ${error instanceof Error ? error.message : String(error)}`);
    killAllSpawned();
    process.exit(1);
  },
);
