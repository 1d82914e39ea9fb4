// Every command the project prints as a next step (`next:` lines, `--help` usage lines, error
// hints) and every command the README and docs give must run as printed on a machine whose own
// `node` is older than the pinned one (Node 20 cannot strip types: `node scripts/x.ts` fails
// there). So a script is named as `npx zx scripts/x.ts` or `npx node scripts/x.ts` (npx puts
// node_modules/.bin, the pinned Node, first on PATH), or through an npm script. Checked here by
// pattern over the sources; printed-commands.slow.test.ts runs each script's usage line as
// printed, with the machine's own Node first on PATH.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { invocation } from '../../scripts/cli/command.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { ENTRY_POINTS } from '../helpers/entry-points.ts';

function filesUnder(dir: string, ext: RegExp): string[] {
  return readdirSync(path.join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => ext.test(f))
    .map((f) => path.join(dir, f));
}

/** A TypeScript file run by a Node that is not the pinned one: a bare `node` or `zx`. */
const BARE =
  /(?<![\w./-])(?<!npx )(node|zx) ((?:\.\.\/)*(?:scripts|services|bench|test)\/\S+\.ts)/g;

/** Comments describe, they print nothing: left out of a source file's text. */
function printable(file: string, text: string): string {
  if (!/\.(ts|mjs)$/.test(file)) return text;
  return text
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
    .map((line) => line.replace(/\s\/\/ .*$/, ''))
    .join('\n');
}

function bareCommands(file: string): string[] {
  const text = printable(file, readFileSync(path.join(repoRoot, file), 'utf8'));
  return [...text.matchAll(BARE)].map((m) => `${file}: ${m[0]}`);
}

describe('printed commands', () => {
  it('name every entry point through npx (or npm start, for the script it runs), whatever Node the machine has', () => {
    expect(ENTRY_POINTS.length).toBeGreaterThan(10);
    const { start } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).scripts;
    for (const name of ENTRY_POINTS) {
      const expected =
        start === `node scripts/${name}.ts`
          ? /^npm start --$/
          : new RegExp(`^npx (zx|node) scripts/${name}\\.ts$`);
      expect(invocation(name), name).toMatch(expected);
    }
    expect(invocation('local')).toBe('npm start --');
  });

  it('never print a bare node or zx command, in the scripts or in the docs', () => {
    const files = [
      ...filesUnder('scripts', /\.(ts|mjs)$/),
      ...filesUnder('services', /\/src\/.*\.ts$/),
      'README.md',
      'docs/reliability.md',
      'docs/verified.md',
      ...filesUnder('scripts', /README\.md$/),
      ...filesUnder('bench', /\.ts$/),
      'bench/README.md',
    ];
    expect(files.flatMap(bareCommands)).toEqual([]);
  });

  it('the pattern finds what it must', () => {
    const found = (text: string) => [...text.matchAll(BARE)].map((m) => m[0]);
    expect(found('next: node scripts/check-policy.ts --json')).toEqual([
      'node scripts/check-policy.ts',
    ]);
    expect(found('run: PORT=3999 node services/book-service/src/server.ts')).toEqual([
      'node services/book-service/src/server.ts',
    ]);
    expect(found('zx scripts/deploy.ts --dry-run')).toEqual(['zx scripts/deploy.ts']);
    expect(found('npx node scripts/x.ts; npx zx scripts/y.ts; npm run smoke')).toEqual([]);
  });
});
