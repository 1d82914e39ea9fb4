// `npx node bench/startup-floors.ts`: how far start-up can come down with a lighter validator. The
// floor app (fixtures/floor-app.ts) started with each of its three sets of checks, the same
// rules (test/bench/floor-checks.test.ts): zod (the `floor` row), zod/mini, and by hand; beside
// raw `node:http` and book-service, bundled and launched as `npm run bench` does (its raw and
// service rows, the service with its Dockerfile's CMD), and book-service again with Node's compile
// cache filled by a start before the samples (what a cache made at image build would give), as
// are the two lighter floors. The cache is a lever on compiling, the validator one on
// evaluating. --samples fresh starts of each, interleaved, on the first allowed CPU, started and
// sampled as the bench samples its rows (start to the first 200 of GET /api/books, idle RSS after
// its settle time); each must answer raw's bytes, or the run fails. See bench/README.md,
// "Start-up: the floor by validator".
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundleEntry } from '../scripts/cloud/bundle.ts';
import { repoRoot } from '../scripts/workspace/manifests.ts';
import { positive } from './lib/options.ts';
import { allowedCpus, hasCommand, killAllSpawned } from './lib/proc.ts';
import { median } from './lib/stats.ts';
import { fmt, table } from './lib/table.ts';
import {
  type Artifacts,
  buildArtifacts,
  freshStart,
  type NodeLaunch,
  nodeRowLaunch,
  type StartContext,
  startNodeServer,
} from './lib/targets.ts';

const fixtures = path.join(import.meta.dirname, 'fixtures');
const START_TIMEOUT_MS = 20_000;

interface Candidate {
  name: string;
  row: 'raw' | 'floor' | 'service';
  file: string;
  launch: NodeLaunch;
  ms: number[];
  rss: number[];
  /** The first answer's body: every candidate must send raw's bytes (the same work). */
  body?: Buffer;
  /** Its compile cache's folder, for a candidate started with one. */
  cache?: string;
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

async function candidates(artifacts: Artifacts): Promise<Candidate[]> {
  const row = (name: string, id: Candidate['row']): Candidate => ({
    name,
    row: id,
    file: artifacts.files[id],
    launch: (port) => nodeRowLaunch(id, artifacts, port),
    ms: [],
    rss: [],
  });
  const floor = row('the floor, zod (the `floor` row)', 'floor');
  // Launched as the floor row is, with its own bundle in place of the floor's.
  const variant = async (name: string, checksFile: string): Promise<Candidate> => {
    const file = await floorWith(artifacts.dir, checksFile);
    const launch: NodeLaunch = (port) => ({ ...floor.launch(port), args: [file] });
    return { ...floor, name, file, launch, ms: [], rss: [] };
  };
  const service = row('book-service', 'service');
  const byHand = await variant('the floor, checks by hand', 'floor-checks-hand.ts');
  const mini = await variant('the floor, zod/mini', 'floor-checks-mini.ts');
  const cached = (base: Candidate, folder: string) =>
    withCompileCache(base, path.join(artifacts.dir, folder));
  // The lighter floors with the cache too: the least book-service would start in if it both
  // dropped zod's classic API and shipped a cache (bench/README.md, the team's options).
  return [
    row('raw node:http', 'raw'),
    byHand,
    mini,
    floor,
    service,
    cached(byHand, 'compile-cache-hand'),
    cached(mini, 'compile-cache-mini'),
    cached(service, 'compile-cache'),
  ];
}

/**
 * The same launch with Node's compile cache (NODE_COMPILE_CACHE, Node's module docs) in `dir`,
 * emptied here and filled by the first start (fillCompileCache): what an image would gain from
 * a cache made when it is built.
 */
function withCompileCache(base: Candidate, dir: string): Candidate {
  rmSync(dir, { recursive: true, force: true });
  const launch: NodeLaunch = (port) => {
    const { args, env } = base.launch(port);
    return { args, env: { ...env, NODE_COMPILE_CACHE: dir } };
  };
  return {
    ...base,
    name: `${base.name}, compile cache filled`,
    launch,
    ms: [],
    rss: [],
    cache: dir,
  };
}

/** One start of each cached candidate, not counted: Node writes its compile cache as it exits. */
async function fillCompileCache(all: Candidate[], ctx: StartContext): Promise<void> {
  for (const candidate of all.filter((c) => c.cache !== undefined)) {
    await freshStart(startNodeServer(candidate.row, candidate.launch, ctx));
    const dir = candidate.cache as string;
    if (!existsSync(dir) || readdirSync(dir).length === 0) {
      throw new Error(`${candidate.name}: Node wrote no compile cache to ${dir}`);
    }
  }
}

async function startOnce(candidate: Candidate, ctx: StartContext): Promise<void> {
  const start = startNodeServer(candidate.row, candidate.launch, ctx);
  const { readyMs, idleRssBytes, body } = await freshStart(start);
  candidate.body ??= body;
  candidate.ms.push(readyMs);
  candidate.rss.push(idleRssBytes ?? Number.NaN);
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
  const artifacts = await buildArtifacts(dir);
  const all = await candidates(artifacts);
  const cpus = hasCommand('taskset') ? String(allowedCpus()[0]) : undefined;
  const ctx: StartContext = { artifacts, cpus, timeoutMs: START_TIMEOUT_MS };
  process.stderr.write(`${all.length} servers x ${samples} fresh starts, CPU ${cpus ?? 'any'}\n`);
  await fillCompileCache(all, ctx);
  for (let sample = 0; sample < samples; sample++) {
    for (const candidate of all) await startOnce(candidate, ctx);
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
