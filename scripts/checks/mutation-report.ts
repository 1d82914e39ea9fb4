// Stryker's report (`npm run mutate` writes .cache/stryker/report.json, mutation-testing-report
// schema) as docs/mutation.md shows it: the score of each mutated module, and every mutant no
// test killed, each with its reason from docs/mutation-survivors.yml. A reason is found by the
// mutant's file, a piece of the code on its line and, where given, its mutator; a survivor with
// no reason, or a reason that no longer matches a survivor, is an error, so the table can
// neither leave one out nor keep a stale one.
import path from 'node:path';

export interface ReportMutant {
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number } };
}

export interface MutationReport {
  files: Record<string, { source: string; mutants: ReportMutant[] }>;
}

export interface Survivor {
  file: string;
  line: number;
  status: 'survived' | 'no coverage';
  mutator: string;
  replacement: string;
  /** The line the mutant changes, as in the source. */
  code: string;
}

export interface SurvivorRule {
  file: string;
  /** A piece of the mutated line's code. */
  code: string;
  mutator?: string;
  /** A key of the reasons list (E1, C1...). */
  reason: string;
}

export interface Reasons {
  /** Reason codes to what they mean. */
  reasons: Record<string, string>;
  survivors: SurvivorRule[];
}

export interface ModuleScore {
  file: string;
  killed: number;
  timedOut: number;
  survived: number;
  noCoverage: number;
  /** Static mutants, not run (`ignoreStatic`, stryker.config.mjs) and not in the score. */
  ignored: number;
  /** Detected over detected and undetected, in percent; compile and runtime errors left out. */
  score: number;
}

const UNDETECTED: Record<string, Survivor['status']> = {
  Survived: 'survived',
  NoCoverage: 'no coverage',
};

/** Every mutant no test killed, by file and position. */
export function survivorsOf(report: MutationReport): Survivor[] {
  return Object.entries(report.files)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([file, { source, mutants }]) => {
      const lines = source.split('\n');
      return mutants
        .filter((m) => UNDETECTED[m.status] !== undefined)
        .sort(
          (a, b) =>
            a.location.start.line - b.location.start.line ||
            a.location.start.column - b.location.start.column,
        )
        .map((m) => ({
          file,
          line: m.location.start.line,
          status: UNDETECTED[m.status] as Survivor['status'],
          mutator: m.mutatorName,
          replacement: m.replacement ?? '',
          code: (lines[m.location.start.line - 1] ?? '').trim(),
        }));
    });
}

function score(killed: number, timedOut: number, undetected: number): number {
  const valid = killed + timedOut + undetected;
  return valid === 0 ? 100 : (100 * (killed + timedOut)) / valid;
}

/** Each file's counts and score, then the total over all of them (file `all`). */
export function scoresOf(report: MutationReport): ModuleScore[] {
  const rows = Object.entries(report.files)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([file, { mutants }]) => {
      const count = (status: string) => mutants.filter((m) => m.status === status).length;
      const [killed, timedOut, survived, noCoverage, ignored] = [
        count('Killed'),
        count('Timeout'),
        count('Survived'),
        count('NoCoverage'),
        count('Ignored'),
      ] as [number, number, number, number, number];
      return {
        file,
        killed,
        timedOut,
        survived,
        noCoverage,
        ignored,
        score: score(killed, timedOut, survived + noCoverage),
      };
    });
  const sum = (key: 'killed' | 'timedOut' | 'survived' | 'noCoverage' | 'ignored') =>
    rows.reduce((total, row) => total + row[key], 0);
  const all = {
    file: 'all',
    killed: sum('killed'),
    timedOut: sum('timedOut'),
    survived: sum('survived'),
    noCoverage: sum('noCoverage'),
    ignored: sum('ignored'),
    score: 0,
  };
  all.score = score(all.killed, all.timedOut, all.survived + all.noCoverage);
  return [...rows, all];
}

function matches(rule: SurvivorRule, survivor: Survivor): boolean {
  return (
    rule.file === survivor.file &&
    survivor.code.includes(rule.code) &&
    (rule.mutator === undefined || rule.mutator === survivor.mutator)
  );
}

export interface Explained {
  explained: { survivor: Survivor; reason: string }[];
  unexplained: Survivor[];
  /** Rules that match no survivor any more (the mutant is killed now, or the code changed). */
  stale: SurvivorRule[];
  /** Reason codes used but not defined. */
  undefinedReasons: string[];
}

/** Each survivor with the first rule that matches it. */
export function explain(survivors: readonly Survivor[], reasons: Reasons): Explained {
  const used = new Set<SurvivorRule>();
  const explained: Explained['explained'] = [];
  const unexplained: Survivor[] = [];
  for (const survivor of survivors) {
    const rule = reasons.survivors.find((r) => matches(r, survivor));
    if (rule === undefined) {
      unexplained.push(survivor);
      continue;
    }
    used.add(rule);
    explained.push({ survivor, reason: rule.reason });
  }
  const undefinedReasons = [
    ...new Set(
      reasons.survivors.map((r) => r.reason).filter((r) => !Object.hasOwn(reasons.reasons, r)),
    ),
  ];
  return {
    explained,
    unexplained,
    stale: reasons.survivors.filter((r) => !used.has(r)),
    undefinedReasons,
  };
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('`', "'");

/** The per-module table. */
export function renderScores(scores: readonly ModuleScore[]): string {
  const rows = scores.map((s) => {
    const name = s.file === 'all' ? '**all**' : `\`${s.file}\``;
    const value = s.file === 'all' ? `**${s.score.toFixed(2)}%**` : `${s.score.toFixed(2)}%`;
    return `| ${name} | ${value} | ${s.killed} | ${s.timedOut} | ${s.survived} | ${s.noCoverage} | ${s.ignored} |`;
  });
  return [
    '| module | score | killed | timed out | survived | no coverage | static (not run) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

/** The reason codes, then one row per survivor with its reason. */
export function renderSurvivors(explained: Explained['explained'], reasons: Reasons): string {
  const codes = Object.entries(reasons.reasons).map(([code, text]) => `- **${code}**: ${text}`);
  const rows = explained.map(({ survivor: s, reason }) => {
    const mutant = `${s.mutator} → \`${cell(s.replacement.split('\n')[0] ?? '').slice(0, 40)}\``;
    return `| \`${s.file}:${s.line}\` | ${s.status} | ${mutant} | ${reason} |`;
  });
  return [
    ...codes,
    '',
    '| place | status | mutant | reason |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** `doc` with the text between `<!-- name -->` and `<!-- /name -->` replaced by `body`. */
export function replaceSection(doc: string, name: string, body: string): string {
  const open = `<!-- ${name} -->`;
  const close = `<!-- /${name} -->`;
  const start = doc.indexOf(open);
  const end = doc.indexOf(close);
  if (start === -1 || end < start) throw new Error(`no ${open} ... ${close} section`);
  return `${doc.slice(0, start + open.length)}\n${body}\n${doc.slice(end)}`;
}

/** A `mutate` pattern's range: `:5-6`, `:5:4-6:4`, `:5-6:4` (MUTATION_RANGE_REGEX, @stryker-mutator/core). */
const RANGE = /:\d+(?::\d+)?-\d+(?::\d+)?$/;

/**
 * Whether Stryker's `mutate` patterns take `file` as its ProjectReader does: in order, a
 * pattern adds the files it matches and a `!` pattern drops them, so the last that matches
 * decides. A range is dropped: the whole file is then re-tested.
 */
function takes(patterns: readonly string[], file: string): boolean {
  let taken = false;
  for (const pattern of patterns) {
    const drop = pattern.startsWith('!');
    const glob = (drop ? pattern.slice(1) : pattern).replace(RANGE, '');
    if (path.matchesGlob(file, glob)) taken = !drop;
  }
  return taken;
}

/** The files of `changed` that Stryker's `mutate` patterns take, for `stryker run --mutate`. */
export function changedTargets(changed: readonly string[], patterns: readonly string[]): string[] {
  const taken = changed.filter((file) => file.endsWith('.ts') && takes(patterns, file));
  return [...new Set(taken)].sort();
}
