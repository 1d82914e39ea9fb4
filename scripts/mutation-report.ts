// Writes the last mutation run's scores and survivors into docs/mutation.md, each survivor with
// its reason from docs/mutation-survivors.yml (scripts/checks/mutation-report.ts). Fails, naming
// them, on a survivor without a reason and on a reason that matches no survivor.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import {
  explain,
  type MutationReport,
  type Reasons,
  renderScores,
  renderSurvivors,
  replaceSection,
  scoresOf,
  survivorsOf,
} from './checks/mutation-report.ts';
import { CliError, commandName, type FlagSpecs, output, runCommand } from './cli/command.ts';

const root = path.join(import.meta.dirname, '..');
const DOC = path.join(root, 'docs', 'mutation.md');
const REASONS = path.join(root, 'docs', 'mutation-survivors.yml');

const flags = {
  report: {
    type: 'string',
    valueName: 'file',
    description: "Stryker's JSON report (default .cache/stryker/report.json)",
  },
  check: {
    type: 'boolean',
    description: 'Change nothing: fail if docs/mutation.md is not up to date',
  },
} as const satisfies FlagSpecs;

const NAME = commandName(import.meta.url);
const spec = {
  name: NAME,
  summary:
    "Write the last mutation run's scores and survivors, with their reasons, into docs/mutation.md.",
  flags,
};

function readJson<T>(file: string, what: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw new CliError(`${NAME}: cannot read ${what}`, (error as Error).message, 'npm run mutate');
  }
}

process.exitCode = await runCommand(spec, (f) => {
  const reportFile = path.resolve(f.report ?? path.join(root, '.cache', 'stryker', 'report.json'));
  const report = readJson<MutationReport>(reportFile, "Stryker's report");
  const reasons = parse(readFileSync(REASONS, 'utf8')) as Reasons;
  const result = explain(survivorsOf(report), reasons);
  const problems = [
    ...result.unexplained.map(
      (s) => `no reason for ${s.file}:${s.line} ${s.mutator} -> ${s.replacement} (${s.code})`,
    ),
    ...result.stale.map((r) => `no survivor for the reason of ${r.file} "${r.code}"`),
    ...result.undefinedReasons.map((code) => `reason ${code} is not defined`),
  ];
  if (problems.length > 0) {
    throw new CliError(
      `${NAME}: ${problems.length} survivor(s) and reasons do not agree`,
      problems.join('\n'),
      `add or remove the entries in ${path.relative(root, REASONS)}`,
    );
  }
  const doc = readFileSync(DOC, 'utf8');
  const updated = replaceSection(
    replaceSection(doc, 'scores', renderScores(scoresOf(report))),
    'survivors',
    renderSurvivors(result.explained, reasons),
  );
  if (f.check) {
    if (updated !== doc) {
      throw new CliError(
        `${NAME}: docs/mutation.md is not up to date`,
        'its tables differ from the report',
        'npm run mutate:report',
      );
    }
  } else writeFileSync(DOC, updated);
  const total = scoresOf(report).at(-1);
  output(
    `${total?.score.toFixed(2)}% over ${Object.keys(report.files).length} modules; ${result.explained.length} survivors, each with its reason`,
  );
  return 0;
});
