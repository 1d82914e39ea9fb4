// The mutation report's rules (scripts/checks/mutation-report.ts) at their edges: the order of
// the survivors (file, line, column), what a mutant without a replacement or a line shows, the
// rule that names another file or mutator, each reason code reported once, the mutant column's
// cut and escapes, the markers of docs/mutation.md, and which changed files `npm run
// mutate:changed` hands to Stryker, read as Stryker reads its `mutate` list (a line or column
// range after the file, `!` patterns; @stryker-mutator/core 10.1.1, ProjectReader and
// MUTATION_RANGE_REGEX).
import { describe, expect, it } from 'vitest';
import {
  changedTargets,
  explain,
  type MutationReport,
  type ReportMutant,
  renderSurvivors,
  replaceSection,
  type Survivor,
  scoresOf,
  survivorsOf,
} from '../../scripts/checks/mutation-report.ts';

const mutant = (
  status: string,
  line: number,
  column: number,
  mutatorName = 'StringLiteral',
): ReportMutant => ({
  mutatorName,
  replacement: '""',
  status,
  location: { start: { line, column } },
});

const survivor = (over: Partial<Survivor> = {}): Survivor => ({
  file: 'a.ts',
  line: 1,
  status: 'survived',
  mutator: 'StringLiteral',
  replacement: '""',
  code: "const a = 'x';",
  ...over,
});

describe('the survivors of a run', () => {
  it('come file by file in name order, then by line, then by column', () => {
    const report: MutationReport = {
      files: {
        'z.ts': { source: 'z\n', mutants: [mutant('Survived', 1, 1)] },
        'm.ts': {
          source: 'one\ntwo\n',
          mutants: [
            mutant('Survived', 2, 3),
            mutant('Survived', 1, 9),
            mutant('NoCoverage', 1, 2),
            mutant('Survived', 2, 1),
          ],
        },
        'a.ts': { source: 'a\n', mutants: [mutant('NoCoverage', 1, 5)] },
      },
    };
    expect(survivorsOf(report).map((s) => `${s.file}:${s.line}:${s.code}`)).toEqual([
      'a.ts:1:a',
      'm.ts:1:one',
      'm.ts:1:one',
      'm.ts:2:two',
      'm.ts:2:two',
      'z.ts:1:z',
    ]);
    const columns = survivorsOf(report)
      .filter((s) => s.file === 'm.ts')
      .map((s) => `${s.line}/${s.status}`);
    expect(columns).toEqual(['1/no coverage', '1/survived', '2/survived', '2/survived']);
  });

  it('sort a later column after an earlier one on the same line, whatever the report order', () => {
    const report: MutationReport = {
      files: {
        'a.ts': {
          source: 'x\n',
          mutants: [
            mutant('Survived', 1, 30, 'Late'),
            mutant('Survived', 1, 4, 'Early'),
            mutant('Survived', 1, 12, 'Middle'),
          ],
        },
      },
    };
    expect(survivorsOf(report).map((s) => s.mutator)).toEqual(['Early', 'Middle', 'Late']);
  });

  it('leave out every status a test detected or Stryker did not count', () => {
    const statuses = ['Killed', 'Timeout', 'CompileError', 'RuntimeError', 'Ignored', 'Pending'];
    const report: MutationReport = {
      files: { 'a.ts': { source: 'x\n', mutants: statuses.map((s) => mutant(s, 1, 1)) } },
    };
    expect(survivorsOf(report)).toEqual([]);
  });

  it('show an empty replacement when the report has none, and an empty line past the source', () => {
    const report: MutationReport = {
      files: {
        'a.ts': {
          source: 'only line\n',
          mutants: [
            {
              mutatorName: 'BlockStatement',
              status: 'Survived',
              location: { start: { line: 1, column: 1 } },
            },
            mutant('Survived', 5, 1),
          ],
        },
      },
    };
    expect(survivorsOf(report).map((s) => [s.replacement, s.code])).toEqual([
      ['', 'only line'],
      ['""', ''],
    ]);
  });
});

describe('the scores', () => {
  it('are 100% for a file whose every mutant was an error or static, and count each file apart', () => {
    const report: MutationReport = {
      files: {
        'b.ts': { source: '', mutants: [mutant('CompileError', 1, 1), mutant('Ignored', 1, 1)] },
        'a.ts': {
          source: '',
          mutants: [mutant('Killed', 1, 1), mutant('Survived', 1, 1), mutant('Survived', 1, 1)],
        },
      },
    };
    expect(scoresOf(report).map((s) => [s.file, s.score, s.ignored])).toEqual([
      ['a.ts', 100 / 3, 0],
      ['b.ts', 100, 1],
      ['all', 100 / 3, 1],
    ]);
  });
});

describe('a rule', () => {
  it('explains only survivors of its own file', () => {
    const result = explain([survivor({ file: 'b.ts' })], {
      reasons: { E1: 'equivalent' },
      survivors: [{ file: 'a.ts', code: "'x'", reason: 'E1' }],
    });
    expect(result.explained).toEqual([]);
    expect(result.unexplained.map((s) => s.file)).toEqual(['b.ts']);
    expect(result.stale.map((r) => r.file)).toEqual(['a.ts']);
  });

  it('with a mutator explains only survivors of that mutator', () => {
    const reasons = {
      reasons: { E1: 'equivalent', E2: 'also' },
      survivors: [
        { file: 'a.ts', code: "'x'", mutator: 'StringLiteral', reason: 'E1' },
        { file: 'a.ts', code: "'x'", mutator: 'ConditionalExpression', reason: 'E2' },
      ],
    };
    const result = explain([survivor({ mutator: 'ConditionalExpression' })], reasons);
    expect(result.explained.map((e) => e.reason)).toEqual(['E2']);
    expect(result.stale.map((r) => r.reason)).toEqual(['E1']);
  });

  it('explains every survivor it matches, and is stale only when it matches none', () => {
    const result = explain([survivor(), survivor({ line: 2, code: "const b = 'x';" })], {
      reasons: { E1: 'equivalent' },
      survivors: [{ file: 'a.ts', code: "'x'", reason: 'E1' }],
    });
    expect(result.explained.map((e) => [e.survivor.line, e.reason])).toEqual([
      [1, 'E1'],
      [2, 'E1'],
    ]);
    expect(result.stale).toEqual([]);
    expect(result.undefinedReasons).toEqual([]);
  });

  it('naming an undefined code is reported once however many rules name it', () => {
    const result = explain([], {
      reasons: { E1: 'equivalent' },
      survivors: [
        { file: 'a.ts', code: 'x', reason: 'X1' },
        { file: 'a.ts', code: 'y', reason: 'E1' },
        { file: 'b.ts', code: 'z', reason: 'X1' },
      ],
    });
    expect(result.undefinedReasons).toEqual(['X1']);
  });

  // A code is defined by the file's own reasons, not by what every object has.
  it('takes no name an object inherits (toString, constructor) for a defined code', () => {
    const result = explain([], {
      reasons: { E1: 'equivalent' },
      survivors: [
        { file: 'a.ts', code: 'x', reason: 'toString' },
        { file: 'a.ts', code: 'y', reason: 'constructor' },
      ],
    });
    expect(result.undefinedReasons).toEqual(['toString', 'constructor']);
  });
});

describe('the survivors table', () => {
  it("shows a mutant's first line only, its backticks as quotes and its pipes escaped", () => {
    const text = renderSurvivors(
      [{ survivor: survivor({ replacement: 'a | b | `c`\nsecond line' }), reason: 'E1' }],
      { reasons: {}, survivors: [] },
    );
    expect(text.split('\n').at(-1)).toBe(
      "| `a.ts:1` | survived | StringLiteral → `a \\| b \\| 'c'` | E1 |",
    );
  });

  it('cuts a long mutant to 40 characters', () => {
    const long = `${'x'.repeat(40)}TAIL`;
    const text = renderSurvivors([{ survivor: survivor({ replacement: long }), reason: 'E1' }], {
      reasons: {},
      survivors: [],
    });
    expect(text.split('\n').at(-1)).toBe(
      `| \`a.ts:1\` | survived | StringLiteral → \`${'x'.repeat(40)}\` | E1 |`,
    );
  });
});

describe('the document', () => {
  it('refuses a section whose closing marker comes first or is missing', () => {
    const error = 'no <!-- s --> ... <!-- /s --> section';
    expect(() => replaceSection('<!-- /s -->\nold\n<!-- s -->\n', 's', 'x')).toThrow(error);
    expect(() => replaceSection('<!-- s -->\nold\n', 's', 'x')).toThrow(error);
    expect(() => replaceSection('old\n<!-- /s -->\n', 's', 'x')).toThrow(error);
  });
});

describe('the files mutate:changed hands to Stryker', () => {
  it('are the changed TypeScript files a pattern takes, each once, sorted', () => {
    expect(
      changedTargets(
        [
          'scripts/b.ts',
          'scripts/checks/diagnose-run.ts',
          'scripts/a.ts',
          'scripts/b.ts',
          'scripts/README.md',
          'test/a.test.ts',
        ],
        ['scripts/*', 'scripts/checks/diagnose-*.ts'],
      ),
    ).toEqual(['scripts/a.ts', 'scripts/b.ts', 'scripts/checks/diagnose-run.ts']);
  });

  it('are none when nothing in the list changed', () => {
    expect(changedTargets(['scripts/a.ts'], ['services/**/*.ts'])).toEqual([]);
    expect(changedTargets([], ['scripts/*.ts'])).toEqual([]);
  });

  it('take the whole file of a pattern with a line range', () => {
    expect(changedTargets(['scripts/a.ts'], ['scripts/a.ts:10-200'])).toEqual(['scripts/a.ts']);
  });

  it('take the whole file of a pattern with a column range, as Stryker reads one', () => {
    // "src/app.js:5:4-6:4" and "src/app.js:5-6:4" (MUTATION_RANGE_REGEX's examples).
    expect(
      changedTargets(
        ['scripts/a.ts', 'scripts/b.ts', 'scripts/c.ts'],
        ['scripts/a.ts:5:4-6:4', 'scripts/b.ts:5-6:4', 'scripts/c.ts:15:2-16'],
      ),
    ).toEqual(['scripts/a.ts', 'scripts/b.ts', 'scripts/c.ts']);
  });

  it('leave out a file a later `!` pattern excludes, and take it back when a later pattern does', () => {
    expect(
      changedTargets(['scripts/a.ts', 'scripts/b.ts'], ['scripts/*.ts', '!scripts/a.ts']),
    ).toEqual(['scripts/b.ts']);
    expect(
      changedTargets(['scripts/a.ts'], ['scripts/*.ts', '!scripts/*.ts', 'scripts/a.ts:1-5']),
    ).toEqual(['scripts/a.ts']);
    expect(changedTargets(['scripts/a.ts'], ['!scripts/b.ts'])).toEqual([]);
  });

  it('keep a range-like part that is not at the end of the pattern', () => {
    expect(changedTargets(['v:1-2/a.ts'], ['v:1-2/*.ts'])).toEqual(['v:1-2/a.ts']);
  });
});
