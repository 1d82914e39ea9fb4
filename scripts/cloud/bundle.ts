// Bundles one service into a single ESM file (dist/<service>/server.mjs) with esbuild: the
// container image then holds that file and no node_modules. Run by each Dockerfile's build
// stage (scripts/build.ts), and by the tests that start the bundle, so what ships is what is
// tested. The Docker build copies this file and scripts/cli/ only: it imports nothing else.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';

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

/**
 * zod's namespace re-exports every locale (`z.locales`), which keeps all 40-odd of them in the
 * bundle (260 KB of its 1.1 MB, minified) though the services only ever use English, the one
 * zod configures itself with: its import of the locale index gets English alone.
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)
        ? { path: path.join(path.dirname(args.importer), '..', 'locales'), namespace: 'zod-en' }
        : undefined,
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: 'zod-en' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: args.path,
    }));
  },
};

/**
 * The services this file can bundle, by name: a folder under services/ with an entry point and
 * a Dockerfile (services/common has the first, as the services' shared server code, not the
 * second). Read from the tree: the Docker build stage has no manifests to read them from.
 */
function bundledServices(): string[] {
  const dir = path.join(root, 'services');
  const has = (name: string, ...file: string[]) => existsSync(path.join(dir, name, ...file));
  return readdirSync(dir)
    .filter((name) => has(name, 'src', 'server.ts') && has(name, 'Dockerfile'))
    .sort();
}

export async function bundleService(service: string, outDir = path.join(root, 'dist', service)) {
  const entry = path.join(root, 'services', service, 'src', 'server.ts');
  if (!existsSync(entry)) {
    const known = bundledServices();
    const hint = known.length > 0 ? ` (services: ${known.join(', ')})` : '';
    throw new Error(`no entry point at ${path.relative(root, entry)}${hint}`);
  }
  return bundleEntry(entry, path.join(outDir, 'server.mjs'));
}

/** `entry` bundled as a service is (also the benchmark's floor app, bundled alike). */
export async function bundleEntry(entry: string, outfile: string): Promise<string> {
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
    plugins: [zodEnglishOnly],
    // pino is CommonJS: its require() calls of Node built-ins need a real require in ESM.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return outfile;
}
