// The import rule of the README's Developing section, checked over every .ts/.mjs file of the
// repository: each relative import specifier (static, dynamic, re-export, `import type`) is
// resolved to a repository path and must land where its folder may reach.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', 'dist', '.cache', '.git', '.stryker-tmp', 'reports']);

/** The services' shared modules tooling may use: public, side-effect free, no service internals. */
const SERVICES_PUBLIC = [
  'services/common/src/lifecycle.ts', // DEFAULT_DRAIN_TIMEOUT_SECONDS, read by the policy check
  'services/common/src/logger.ts', // LOG_LEVELS, for --log-level
  'services/common/src/input-rules.ts', // the request id and item id rules, for bench fixtures
  'services/common/src/memory-reducer.ts', // the V8 option bench/aging.ts's control withholds
];

/** Where each folder's files may import from (repository-relative prefixes), first match wins. */
const RULES: { from: string; may: string[]; why: string }[] = [
  { from: 'test/', may: [''], why: 'tests may reach anything' },
  ...['services/common/test/', 'services/book-service/test/', 'services/author-service/test/'].map(
    (from) => ({ from, may: [''], why: 'tests may reach anything' }),
  ),
  { from: 'services/', may: ['services/'], why: 'the services import no tooling' },
  { from: 'scripts/cli/', may: ['scripts/cli/'], why: 'CLI conventions: builtins and npm only' },
  {
    from: 'scripts/workspace/',
    may: ['scripts/workspace/'],
    why: 'the workspace model: builtins and npm only',
  },
  {
    from: 'scripts/cloud/',
    may: ['scripts/cloud/', 'scripts/workspace/', 'scripts/cli/', ...SERVICES_PUBLIC],
    why: 'deploy machinery reads the workspace',
  },
  {
    from: 'scripts/checks/',
    may: [
      'scripts/checks/',
      'scripts/workspace/',
      'scripts/cli/',
      'scripts/cloud/',
      // The typed clients' types, generated from the served documents (scripts/openapi.ts).
      '.cache/openapi/',
      ...SERVICES_PUBLIC,
    ],
    why: 'checks may drive AWS',
  },
  {
    from: 'scripts/local/',
    may: ['scripts/local/', 'scripts/workspace/', 'scripts/cli/', ...SERVICES_PUBLIC],
    why: 'the local emulator never imports deploy machinery or checks',
  },
  {
    // The instruction count drives book-service's app itself, in-process (bench/instructions.ts).
    from: 'bench/lib/in-process.ts',
    may: ['bench/', 'services/book-service/src/app.ts', ...SERVICES_PUBLIC],
    why: 'the in-process driver runs the app it counts',
  },
  {
    // Bench fixtures serve the book service's own data, so each framework answers the same bytes.
    from: 'bench/fixtures/',
    may: ['bench/', 'scripts/', 'services/book-service/src/data.ts', ...SERVICES_PUBLIC],
    why: 'benches use the tooling and the services public modules',
  },
  {
    from: 'bench/',
    may: ['bench/', 'scripts/', ...SERVICES_PUBLIC],
    why: 'benches use the tooling and the services public modules',
  },
  {
    from: 'scripts/',
    // mutate-changed.ts reads the mutate list from its one source, Stryker's configuration.
    may: ['scripts/', 'stryker.config.mjs', ...SERVICES_PUBLIC],
    why: 'entry points use any subsystem',
  },
  { from: '', may: [''], why: 'top-level configuration files' },
];

function sourceFiles(dir = repoRoot): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Every relative import of `file`, as repository paths. */
function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles
    .map((i) => i.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => path.relative(repoRoot, path.resolve(path.dirname(file), spec)));
}

function ruleFor(file: string) {
  const rule = RULES.find((r) => file.startsWith(r.from));
  if (!rule) throw new Error(`no rule for ${file}`);
  return rule;
}

const ENTRY_POINT = /^scripts\/[^/]+\.(ts|mjs)$/;

/** The broken rules in `file`'s imports, as "<file> imports <target>: <why>". */
function violations(file: string, text?: string): string[] {
  const from = path.relative(repoRoot, file);
  const rule = ruleFor(from);
  return importsOf(file, text).flatMap((target) => {
    const problems: string[] = [];
    if (!rule.may.some((prefix) => target.startsWith(prefix)))
      problems.push(`${from} imports ${target}: ${rule.why}`);
    if (target.startsWith('test/') && !from.startsWith('test/'))
      problems.push(`${from} imports ${target}: production code never imports tests`);
    if (ENTRY_POINT.test(target) && !from.startsWith('test/'))
      problems.push(
        `${from} imports ${target}: entry points are thin, their logic lives in a folder`,
      );
    return problems;
  });
}

describe('the import rule (README, Developing)', () => {
  const files = sourceFiles();

  it('finds the code it rules over', () => {
    const rel = files.map((f) => path.relative(repoRoot, f));
    for (const folder of [
      'services/',
      'scripts/cli/',
      'scripts/local/',
      'scripts/cloud/',
      'bench/',
    ])
      expect(rel.some((f) => f.startsWith(folder))).toBe(true);
    expect(importsOf(path.join(repoRoot, 'scripts/deploy.ts'))).toContain('scripts/cli/command.ts');
  });

  it('holds for every file', () => {
    expect(files.flatMap((f) => violations(f))).toEqual([]);
  });

  it.each([
    [
      'scripts/local/stack.ts',
      "import { x } from '../cloud/aws.ts';",
      /local emulator never imports/,
    ],
    [
      'scripts/local/stack.ts',
      "export * from '../checks/policy.ts';",
      /local emulator never imports/,
    ],
    ['services/common/src/a.ts', "import('../../../scripts/cli/command.ts');", /no tooling/],
    ['scripts/cli/command.ts', "import type { W } from '../workspace/manifests.ts';", /npm only/],
    ['scripts/cloud/aws.ts', "import { y } from '../../services/book-service/src/app.ts';", /./],
    ['scripts/checks/policy.ts', "import { z } from '../../test/helpers/process.ts';", /tests/],
    ['bench/lib/x.ts', "import { b } from '../../scripts/build.ts';", /entry points/],
  ])('rejects a bad import in %s: %s', (file, text, reason) => {
    expect(violations(path.join(repoRoot, file), text).join('\n')).toMatch(reason);
  });
});
