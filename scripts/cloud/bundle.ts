// Bundles one service into a single ESM file (dist/<service>/server.mjs) with esbuild: the
// container image then holds that file and no node_modules. Run by each Dockerfile's build
// stage (scripts/build.ts), and by the tests that start the bundle, so what ships is what is
// tested. The Docker build copies this file and scripts/cli/ only: it imports nothing else.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..', '..');

/**
 * esbuild's target, `node<major>`, from the Node the project pins (package.json's devDependency
 * `node`), which the Dockerfiles' runtime images must match (the Dockerfile lint checks them).
 */
export function nodeTarget(packageJson = path.join(root, 'package.json')): string {
  const pinned = JSON.parse(readFileSync(packageJson, 'utf8')).devDependencies?.node;
  const major = /^(\d+)\./.exec(pinned ?? '')?.[1];
  if (!major)
    throw new Error(`package.json pins no Node version (devDependencies.node: ${pinned})`);
  return `node${major}`;
}

export async function bundleService(service: string, outDir = path.join(root, 'dist', service)) {
  const entry = path.join(root, 'services', service, 'src', 'server.ts');
  if (!existsSync(entry)) throw new Error(`no entry point at ${path.relative(root, entry)}`);
  const outfile = path.join(outDir, 'server.mjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: nodeTarget(),
    format: 'esm',
    // Minified, and the source map left beside the bundle rather than loaded at run time:
    // --enable-source-maps costs start-up time and memory (measured in bench/README.md).
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  return outfile;
}
