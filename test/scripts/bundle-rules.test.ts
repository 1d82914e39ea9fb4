// How a service is bundled for its image (scripts/cloud/bundle.ts), run in this process with
// esbuild on small entries in scratch folders: the Node target from package.json's pin, the one
// ESM file (its own `require` for CommonJS code, built-ins left to Node, local modules inside),
// minified, with its source map and legal comments beside it, zod's English locale alone, and
// the refusal of a service with no entry point. bundle.test.ts runs the real bundles as images do.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleEntry, bundleService, nodeTarget } from '../../scripts/cloud/bundle.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { type ScratchFolder, scratchFolders } from '../helpers/scratch.ts';

const scratch = scratchFolders('bundle-rules');

/** The target for a package.json with these devDependencies (or none, for `undefined`). */
function targetFor(devDependencies: Record<string, string> | undefined): string {
  const dir = scratch();
  dir.write('package.json', JSON.stringify({ name: 'x', devDependencies }));
  return nodeTarget(path.join(dir.root, 'package.json'));
}

/**
 * `entry.mjs` of `dir` bundled to `out/server.mjs`; the bundle's text and its exports, loaded by
 * Node itself as the image loads it (require of an ES module: vitest's own loader would give the
 * bundle a `require` that Node does not).
 */
async function bundled(dir: ScratchFolder) {
  const outfile = path.join(dir.root, 'out', 'server.mjs');
  expect(await bundleEntry(path.join(dir.root, 'entry.mjs'), outfile)).toBe(outfile);
  const text = readFileSync(outfile, 'utf8');
  const exports = createRequire(import.meta.url)(outfile) as Record<string, unknown>;
  return { outfile, text, exports };
}

/** A zod-shaped package under `node_modules/<pkg>`: its locale index holds English and German. */
function fakeLocales(dir: ScratchFolder, pkg: string, folder: 'classic' | 'core') {
  const base = `node_modules/${pkg}/v4`;
  dir.write(`${base}/${folder}/index.js`, 'export * as locales from "../locales/index.js";\n');
  dir.write(
    `${base}/locales/index.js`,
    "export { default as en } from './en.js';\nexport { default as de } from './de.js';\n",
  );
  dir.write(`${base}/locales/en.js`, "export default () => 'Invalid input';\n");
  dir.write(`${base}/locales/de.js`, "export default () => 'Ungueltige Eingabe';\n");
  dir.write(
    'entry.mjs',
    `import * as z from './${base}/${folder}/index.js';\nexport const locales = Object.keys(z.locales);\nexport const en = z.locales.en();\n`,
  );
}

describe('the Node target', () => {
  it("is node<major> of the Node package.json pins, by default this project's", () => {
    expect(targetFor({ node: '24.21.0' })).toBe('node24');
    expect(targetFor({ esbuild: '0.28.2', node: '108.0.1' })).toBe('node108');
    const pinned = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    expect(nodeTarget()).toBe(`node${pinned.devDependencies.node.split('.')[0]}`);
  });

  it('is refused, naming what is pinned, without a pinned version', () => {
    expect(() => targetFor(undefined)).toThrow(
      'package.json pins no Node version (devDependencies.node: undefined)',
    );
    expect(() => targetFor({ esbuild: '0.28.2' })).toThrow(
      'package.json pins no Node version (devDependencies.node: undefined)',
    );
    // A range is no pin: the runtime images must run the one version the tests run on.
    expect(() => targetFor({ node: '>=24.1.0' })).toThrow(
      'package.json pins no Node version (devDependencies.node: >=24.1.0)',
    );
    expect(() => targetFor({ node: 'latest' })).toThrow('(devDependencies.node: latest)');
  });
});

describe('a bundle', () => {
  it('is one minified ESM file with local modules inside and Node built-ins left to Node', async () => {
    const dir = scratch();
    dir.write(
      'entry.mjs',
      "import { basename } from 'node:path';\nimport { twice } from './lib/twice.mjs';\nexport const answer = twice(21);\nexport const base = basename('/a/b.txt');\n",
    );
    dir.write(
      'lib/twice.mjs',
      'export function twice(someVeryLongParameterName) {\n  const someVeryLongLocalName = someVeryLongParameterName * 2;\n  return someVeryLongLocalName;\n}\n',
    );
    const { outfile, text, exports } = await bundled(dir);
    expect(exports).toMatchObject({ answer: 42, base: 'b.txt' });
    expect(text).not.toContain('twice.mjs');
    expect(text).not.toContain('someVeryLong');
    expect(text).toMatch(/from\s*"node:path"/);
    // Just the bundle and its source map, not loaded at run time but beside it.
    expect(readdirSync(path.dirname(outfile)).sort()).toEqual(['server.mjs', 'server.mjs.map']);
    expect(text.trimEnd().endsWith('//# sourceMappingURL=server.mjs.map')).toBe(true);
    const map = JSON.parse(readFileSync(`${outfile}.map`, 'utf8')) as { sources: string[] };
    expect(map.sources.map((s) => path.basename(s)).sort()).toEqual(['entry.mjs', 'twice.mjs']);
  });

  it("gives CommonJS code a real require for Node's built-ins", async () => {
    const dir = scratch();
    dir.write('node_modules/cjs-dep/package.json', '{"type":"commonjs","main":"index.js"}');
    dir.write(
      'node_modules/cjs-dep/index.js',
      "const os = require('node:os');\nmodule.exports = { eol: os.EOL };\n",
    );
    dir.write('entry.mjs', "import dep from 'cjs-dep';\nexport const eol = dep.eol;\n");
    const { exports } = await bundled(dir);
    expect(exports.eol).toBe('\n');
  });

  it('leaves legal comments in a file beside the bundle, naming it', async () => {
    const dir = scratch();
    dir.write(
      'entry.mjs',
      '/*! Licensed under the MIT licence, (c) Someone */\nexport const one = 1;\n',
    );
    const { outfile, text, exports } = await bundled(dir);
    expect(exports.one).toBe(1);
    expect(text).not.toContain('Someone');
    expect(text).toContain('server.mjs.LEGAL.txt');
    expect(readFileSync(`${outfile}.LEGAL.txt`, 'utf8')).toContain('(c) Someone');
  });

  it.each(['classic', 'core'] as const)(
    "keeps zod's English locale alone, for its %s entry",
    async (folder) => {
      const dir = scratch();
      fakeLocales(dir, 'zod', folder);
      const { text, exports } = await bundled(dir);
      expect(exports).toMatchObject({ locales: ['en'], en: 'Invalid input' });
      expect(text).not.toContain('Ungueltige');
    },
  );

  it("keeps every locale of a package that is not zod's v4", async () => {
    const dir = scratch();
    fakeLocales(dir, 'not-zod', 'core');
    const { text, exports } = await bundled(dir);
    expect(exports).toMatchObject({ locales: ['de', 'en'], en: 'Invalid input' });
    expect(text).toContain('Ungueltige');
  });
});

describe('a service bundle', () => {
  it('is refused for a service with no entry point, naming the services there are', async () => {
    const dir = scratch();
    const out = path.join(dir.root, 'none');
    // services/common has an entry point (the shared server code) but no Dockerfile: no service.
    expect(existsSync(path.join(repoRoot, 'services', 'common', 'src', 'server.ts'))).toBe(true);
    await expect(bundleService('no-such-service', out)).rejects.toThrow(
      'no entry point at services/no-such-service/src/server.ts (services: author-service, book-service)',
    );
    expect(existsSync(out)).toBe(false);
  });

  it('is server.mjs in the folder given, with its source map, and zod in English alone', async () => {
    const dir = scratch();
    const out = path.join(dir.root, 'book-service');
    const file = await bundleService('book-service', out);
    expect(file).toBe(path.join(out, 'server.mjs'));
    expect(readdirSync(out).filter((f) => !f.endsWith('.LEGAL.txt'))).toEqual([
      'server.mjs',
      'server.mjs.map',
    ]);
    const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
    const zodLocales = map.sources.filter((s) => s.includes('/zod/v4/locales/'));
    expect(zodLocales.map((s) => path.basename(s))).toEqual(['en.js']);
    const entry = path.relative(out, path.join(repoRoot, 'services/book-service/src/server.ts'));
    expect(map.sources).toContain(entry);
  });
});
