// Bundles one service into a single ESM file (dist/<service>/server.mjs) with esbuild: the
// container image then holds that file and no node_modules. Run by each Dockerfile's build
// stage, and by the tests that start the bundle, so what ships is what is tested.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');

export async function bundleService(service: string, outDir = path.join(root, 'dist', service)) {
  const entry = path.join(root, 'services', service, 'src', 'server.ts');
  if (!existsSync(entry)) throw new Error(`no entry point at ${path.relative(root, entry)}`);
  const outfile = path.join(outDir, 'server.mjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    // Minified, and the source map left beside the bundle rather than loaded at run time:
    // --enable-source-maps cost ~50 ms of start-up and ~15 MB of RSS (bench/README.md).
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  return outfile;
}

if (import.meta.main) {
  const service = process.argv[2];
  try {
    if (!service) throw new Error('which service? e.g. node scripts/build.ts book-service');
    process.stdout.write(`${await bundleService(service)}\n`);
  } catch (error) {
    process.stderr.write(`build failed: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
