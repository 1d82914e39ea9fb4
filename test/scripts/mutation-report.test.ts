// The mutation report's tables (scripts/checks/mutation-report.ts): every survivor found with
// its line, each explained by the first matching reason; a survivor without one, a reason that
// no longer matches, and an undefined reason code all reported; scores as Stryker counts them.
import { describe, expect, it } from 'vitest';
import {
  explain,
  type MutationReport,
  renderScores,
  renderSurvivors,
  replaceSection,
  type Survivor,
  scoresOf,
  survivorsOf,
} from '../../scripts/checks/mutation-report.ts';

const mutant = (status: string, line: number, column = 1, mutatorName = 'StringLiteral') => ({
  mutatorName,
  replacement: '""',
  status,
  location: { start: { line, column } },
});

const report: MutationReport = {
  files: {
    'b.ts': {
      source: "const a = 'x';\n  if (a) return;\n",
      mutants: [
        mutant('Killed', 1),
        mutant('Survived', 2, 7, 'ConditionalExpression'),
        mutant('NoCoverage', 1, 11),
        mutant('Timeout', 2),
        mutant('CompileError', 2),
      ],
    },
    'a.ts': {
      source: 'x\n',
      mutants: [mutant('Killed', 1), mutant('Killed', 1), mutant('Ignored', 1)],
    },
  },
};

describe('the survivors of a run', () => {
  it('are the survived and uncovered mutants, by file and position, with their line', () => {
    expect(survivorsOf(report)).toEqual([
      {
        file: 'b.ts',
        line: 1,
        status: 'no coverage',
        mutator: 'StringLiteral',
        replacement: '""',
        code: "const a = 'x';",
      },
      {
        file: 'b.ts',
        line: 2,
        status: 'survived',
        mutator: 'ConditionalExpression',
        replacement: '""',
        code: 'if (a) return;',
      },
    ]);
  });

  it('are each explained by the first rule whose file, code and mutator match', () => {
    const result = explain(survivorsOf(report), {
      reasons: { E1: 'equivalent', T1: 'accepted' },
      survivors: [
        { file: 'b.ts', code: 'if (a)', mutator: 'StringLiteral', reason: 'T1' },
        { file: 'b.ts', code: 'if (a)', reason: 'E1' },
        { file: 'b.ts', code: "'x'", reason: 'T1' },
        { file: 'a.ts', code: 'x', reason: 'E1' },
        { file: 'b.ts', code: 'nowhere', reason: 'X9' },
      ],
    });
    expect(result.explained.map((e) => e.reason)).toEqual(['T1', 'E1']);
    expect(result.unexplained).toEqual([]);
    expect(result.stale.map((r) => r.code)).toEqual(['if (a)', 'x', 'nowhere']);
    expect(result.undefinedReasons).toEqual(['X9']);
  });

  it('without a rule are reported', () => {
    const result = explain(survivorsOf(report), { reasons: {}, survivors: [] });
    expect(result.unexplained).toHaveLength(2);
  });
});

describe('the scores', () => {
  it('count detected over detected and undetected, errors left out, and a total', () => {
    const scores = scoresOf(report);
    expect(
      scores.map((s) => [s.file, s.killed, s.timedOut, s.survived, s.noCoverage, s.ignored]),
    ).toEqual([
      ['a.ts', 2, 0, 0, 0, 1],
      ['b.ts', 1, 1, 1, 1, 0],
      ['all', 3, 1, 1, 1, 1],
    ]);
    expect(scores.map((s) => s.score)).toEqual([100, 50, (100 * 4) / 6]);
    expect(scoresOf({ files: {} })).toEqual([
      { file: 'all', killed: 0, timedOut: 0, survived: 0, noCoverage: 0, ignored: 0, score: 100 },
    ]);
  });

  it('render as a table, the total in bold', () => {
    expect(renderScores(scoresOf(report))).toBe(
      [
        '| module | score | killed | timed out | survived | no coverage | static (not run) |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
        '| `a.ts` | 100.00% | 2 | 0 | 0 | 0 | 1 |',
        '| `b.ts` | 50.00% | 1 | 1 | 1 | 1 | 0 |',
        '| **all** | **66.67%** | 3 | 1 | 1 | 1 | 1 |',
      ].join('\n'),
    );
  });
});

describe('the document', () => {
  it('gets each table between its markers, the rest untouched', () => {
    const doc = 'intro\n<!-- scores -->\nold\n<!-- /scores -->\nend\n';
    expect(replaceSection(doc, 'scores', 'new')).toBe(
      'intro\n<!-- scores -->\nnew\n<!-- /scores -->\nend\n',
    );
    expect(() => replaceSection('no markers', 'scores', 'x')).toThrow(
      'no <!-- scores --> ... <!-- /scores --> section',
    );
  });

  it('lists the reason codes, then each survivor with its reason, pipes escaped', () => {
    const [first] = survivorsOf(report) as [Survivor];
    const text = renderSurvivors(
      [{ survivor: { ...first, replacement: 'a || b' }, reason: 'E1' }],
      { reasons: { E1: 'equivalent' }, survivors: [] },
    );
    expect(text).toBe(
      [
        '- **E1**: equivalent',
        '',
        '| place | status | mutant | reason |',
        '| --- | --- | --- | --- |',
        '| `b.ts:1` | no coverage | StringLiteral → `a \\|\\| b` | E1 |',
      ].join('\n'),
    );
  });
});
