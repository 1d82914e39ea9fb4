// `npx node bench/startup-parts.ts`: where book-service's start-up time goes. Each part is one
// import, bundled as the services are (scripts/cloud/bundle.ts), timed from the import's start
// to its end in a fresh Node process: compiling and evaluating it, after Node's own bootstrap.
// Every process runs on the first allowed CPU; the parts are interleaved, --samples processes
// each. Parts overlap (the app includes the libraries; every Hono part loads undici): read each
// against `empty`, not as shares of a sum. See bench/README.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundleEntry } from '../scripts/cloud/bundle.ts';
import { repoRoot } from '../scripts/workspace/manifests.ts';
import { positive } from './lib/options.ts';
import { allowedCpus, hasCommand, serverEnv } from './lib/proc.ts';
import { median } from './lib/stats.ts';
import { fmt, table } from './lib/table.ts';

const common = path.join(repoRoot, 'services', 'common', 'src');
const deps = `import { createLifecycle } from '${common}/lifecycle.ts';
import { createLogger } from '${common}/logger.ts';
const deps = () => ({ lifecycle: createLifecycle(), logger: createLogger({ service: 'x' }) });`;

/** The floor's page check (bench/fixtures/floor-checks*.ts) built and used once. */
const floorPage = (checksFile: string) =>
  `import { checks } from '${path.join(import.meta.dirname, 'fixtures', checksFile)}';
globalThis.keep = checks.Page.safeParse({ limit: '4' });`;

/** Each part's source: what it imports, kept alive so the bundler drops nothing. */
const PARTS: Record<string, string> = {
  empty: 'globalThis.keep = 1;',
  'node:http, imported (ESM)':
    "import { createServer } from 'node:http'; globalThis.keep = createServer;",
  'node:http, required': "globalThis.keep = require('node:http').createServer;",
  'undici (the global Response)': 'globalThis.keep = globalThis.Response;',
  'hono + @hono/node-server':
    "import { Hono } from 'hono'; import { getRequestListener } from '@hono/node-server'; globalThis.keep = [Hono, getRequestListener];",
  "pino (the services' logger)": `${deps}\nglobalThis.keep = deps();`,
  zod: "import { z } from 'zod'; globalThis.keep = z;",
  "the floor's checks in zod": floorPage('floor-checks.ts'),
  'the same checks in zod/mini': floorPage('floor-checks-mini.ts'),
  '@hono/zod-openapi (with zod)':
    "import { OpenAPIHono, z } from '@hono/zod-openapi'; globalThis.keep = [OpenAPIHono, z];",
  'book-service app (createApp, no server)': `${deps}
import { createApp } from '${repoRoot}/services/book-service/src/app.ts';
globalThis.keep = createApp(deps());`,
};

const TIMER = `const started = performance.now();
await import(process.argv[2]);
process.stdout.write(String(performance.now() - started));
process.exit(0);`;

async function buildParts(dir: string): Promise<{ name: string; file: string }[]> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'timer.mjs'), TIMER);
  return Promise.all(
    Object.entries(PARTS).map(async ([name, source], i) => {
      const entry = path.join(dir, `part-${i}.ts`);
      writeFileSync(entry, `${source}\n`);
      return { name, file: await bundleEntry(entry, path.join(dir, `part-${i}.mjs`)) };
    }),
  );
}

function timeOnce(dir: string, file: string, cpu: number | undefined): number {
  const node = [process.execPath, path.join(dir, 'timer.mjs'), file];
  const [command, ...args] = cpu === undefined ? node : ['taskset', '-c', String(cpu), ...node];
  const env = serverEnv();
  const result = spawnSync(command as string, args, { encoding: 'utf8', stdio: 'pipe', env });
  const ms = Number(result.stdout);
  if (result.status !== 0 || !Number.isFinite(ms)) {
    throw new Error(`${path.basename(file)} failed (${result.status}): ${result.stderr.trim()}`);
  }
  return ms;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { samples: { type: 'string' } } });
  const samples = positive('samples', values.samples, 15);
  const dir = path.join(repoRoot, '.cache', 'bench', 'startup-parts');
  const parts = await buildParts(dir);
  const cpu = hasCommand('taskset') ? allowedCpus()[0] : undefined;
  process.stderr.write(`${parts.length} parts x ${samples} fresh processes, CPU ${cpu ?? 'any'}\n`);
  const times = parts.map(() => [] as number[]);
  for (let round = 0; round < samples; round++) {
    for (const [i, part] of parts.entries()) times[i]?.push(timeOnce(dir, part.file, cpu));
  }
  const rows = parts.map((part, i) => {
    const ms = times[i] ?? [];
    return [
      part.name,
      fmt(statSync(part.file).size / 1024),
      fmt(Math.min(...ms), 1),
      fmt(median(ms), 1),
      fmt(Math.max(...ms), 1),
    ];
  });
  const header = ['part (one import, bundled)', 'KB', 'min ms', 'median ms', 'max ms'];
  process.stdout.write(`${table(header, rows)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`startup-parts failed: ${error instanceof Error ? error.message : error}\n`);
  process.exitCode = 1;
});
