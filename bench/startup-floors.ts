// `node bench/startup-floors.ts`: how far start-up can come down with a lighter validator. The
// floor app (fixtures/floor-app.ts) started with each of its three sets of checks, the same
// rules (test/bench/floor-checks.test.ts): zod (the `floor` row), zod/mini, and by hand; beside
// raw `node:http` and book-service, bundled and launched as `npm run bench` does (its raw and
// service rows, the service with its Dockerfile's CMD). --samples fresh starts of each,
// interleaved, on the first allowed CPU, from spawn() to the first 200 of GET /api/books, and
// idle RSS 300 ms later; each must answer raw's bytes, or the run fails. See bench/README.md,
// "Start-up: the floor by validator".
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundleEntry } from '../scripts/cloud/bundle.ts';
import { repoRoot } from '../scripts/workspace/manifests.ts';
import { positive } from './lib/options.ts';
import {
  allowedCpus,
  hasCommand,
  killAllSpawned,
  readMemory,
  spawnPinned,
  waitFor200,
} from './lib/proc.ts';
import { median } from './lib/stats.ts';
import { fmt, table } from './lib/table.ts';
import { buildArtifacts, nodeRowLaunch } from './lib/targets.ts';

const fixtures = path.join(import.meta.dirname, 'fixtures');
const PORT = 4390;
const START_TIMEOUT_MS = 20_000;

interface Candidate {
  name: string;
  file: string;
  args: string[];
  env: Record<string, string>;
  ms: number[];
  rss: number[];
  /** The first answer's body: every candidate must send raw's bytes (the same work). */
  body?: Buffer;
}

/** A floor entry with another set of checks, bundled as the `floor` row is. */
async function floorWith(dir: string, checksFile: string): Promise<string> {
  const entry = path.join(dir, `${path.basename(checksFile, '.ts')}-server.ts`);
  const source = `import { serveFloor } from '${fixtures}/floor-app.ts';
import { checks } from '${fixtures}/${checksFile}';
serveFloor(checks);\n`;
  writeFileSync(entry, source);
  return bundleEntry(entry, entry.replace(/\.ts$/, '.mjs'));
}

async function candidates(dir: string): Promise<Candidate[]> {
  const artifacts = await buildArtifacts(dir);
  const row = (name: string, id: 'raw' | 'floor' | 'service') => {
    const { args, env } = nodeRowLaunch(id, artifacts, PORT);
    return { name, file: artifacts.files[id], args, env, ms: [], rss: [] };
  };
  const floor = row('the floor, zod (the `floor` row)', 'floor');
  const variant = async (name: string, checksFile: string) => {
    const file = await floorWith(dir, checksFile);
    return { ...floor, name, file, args: [file], ms: [], rss: [] };
  };
  return [
    row('raw node:http', 'raw'),
    await variant('the floor, checks by hand', 'floor-checks-hand.ts'),
    await variant('the floor, zod/mini', 'floor-checks-mini.ts'),
    floor,
    row('book-service', 'service'),
  ];
}

async function startOnce(candidate: Candidate, cpus: string | undefined): Promise<void> {
  const spawned = spawnPinned(process.execPath, candidate.args, { cpus, env: candidate.env });
  try {
    const alive = () => spawned.child.exitCode === null;
    const url = `http://127.0.0.1:${PORT}/api/books`;
    const { ms, body } = await waitFor200(url, spawned.spawnedAt, START_TIMEOUT_MS, alive);
    candidate.body ??= body;
    await new Promise((resolve) => setTimeout(resolve, 300));
    candidate.ms.push(ms);
    candidate.rss.push(readMemory(spawned.pid)?.rss ?? Number.NaN);
  } finally {
    await spawned.stop();
  }
}

function report(all: Candidate[]): string {
  const raw = median(all[0]?.ms ?? []);
  const rows = all.map((c) => [
    c.name,
    fmt(statSync(c.file).size / 1024),
    fmt(Math.min(...c.ms)),
    fmt(median(c.ms)),
    fmt(Math.max(...c.ms)),
    fmt(median(c.ms) / raw, 2),
    fmt(median(c.rss) / 2 ** 20, 1),
  ]);
  const header = [
    'start to first 200',
    'KB',
    'min ms',
    'median ms',
    'max ms',
    'x raw',
    'idle RSS MB',
  ];
  return table(header, rows);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { samples: { type: 'string' } } });
  const samples = positive('samples', values.samples, 21);
  const dir = path.join(repoRoot, '.cache', 'bench', 'startup-floors');
  mkdirSync(dir, { recursive: true });
  const all = await candidates(dir);
  const cpus = hasCommand('taskset') ? String(allowedCpus()[0]) : undefined;
  process.stderr.write(`${all.length} servers x ${samples} fresh starts, CPU ${cpus ?? 'any'}\n`);
  for (let sample = 0; sample < samples; sample++) {
    for (const candidate of all) await startOnce(candidate, cpus);
  }
  const differ = all.filter((c) => !c.body?.equals(all[0]?.body ?? Buffer.alloc(0)));
  if (differ.length > 0) {
    throw new Error(`${differ.map((c) => c.name).join(', ')} answered other bytes than raw`);
  }
  process.stdout.write(`${report(all)}\n`);
}

main().catch((error: unknown) => {
  killAllSpawned();
  process.stderr.write(
    `startup-floors failed: ${error instanceof Error ? error.message : error}\n`,
  );
  process.exitCode = 1;
});
