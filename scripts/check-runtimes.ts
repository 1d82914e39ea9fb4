// Fails when a Lambda function this repository deploys would run on a runtime Lambda refuses or
// is about to (scripts/checks/lambda-runtimes.ts): a function Copilot renders for a manifest in
// copilot/ without its Runtime patch, a patch on a function Copilot does not render, or any
// runtime (patches, addons) deprecated or within 180 days of its block-create date. Findings on
// stderr, the summary (or --json) on stdout. Exit codes: 0 clean, 1 findings, 2 could not run.
import path from 'node:path';
import {
  checkLambdaRuntimes,
  formatFinding,
  type RuntimeReport,
} from './checks/lambda-runtimes.ts';
import {
  CliError,
  commandName,
  type FlagSpecs,
  invocation,
  output,
  runCommand,
} from './cli/command.ts';
import { isoDay, RUNTIME_TABLE } from './cloud/lambda-runtimes.ts';

const flags = {
  date: {
    type: 'string',
    valueName: 'YYYY-MM-DD',
    description: 'Judge the runtimes on this day instead of today (will it still pass then?)',
  },
  root: {
    type: 'string',
    valueName: 'dir',
    description: 'Check this checkout (default: this one)',
  },
  json: { type: 'boolean', description: 'Print the report as JSON on stdout' },
} as const satisfies FlagSpecs;

const spec = {
  name: commandName(import.meta.url),
  summary: 'Fail on a Lambda runtime Lambda refuses, or will within 180 days.',
  details: `Runtime dates: ${RUNTIME_TABLE.source} (read ${RUNTIME_TABLE.read}).`,
  flags,
};

process.exitCode = await runCommand(spec, (f) => {
  const root = path.resolve(f.root ?? path.join(import.meta.dirname, '..'));
  const date = f.date ?? isoDay(Date.now());
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) {
    throw new CliError(
      `${spec.name}: invalid --date`,
      `"${date}" is not a YYYY-MM-DD day`,
      `${invocation(spec.name)} --help`,
      2,
    );
  }
  let report: RuntimeReport;
  try {
    report = checkLambdaRuntimes(root, date);
  } catch (error) {
    throw new CliError(
      `${spec.name}: cannot check ${root}`,
      (error as Error).message,
      invocation(spec.name),
      2,
    );
  }
  if (f.json) output(JSON.stringify(report, null, 2));
  else {
    for (const finding of report.findings) process.stderr.write(`${formatFinding(finding)}\n`);
    const runtimes = report.checked.map((c) => `${c.file} ${c.fn} ${c.runtime} (${c.from})`);
    output(
      [
        ...runtimes,
        `${spec.name}: ${report.checked.length} Lambda function(s) judged on ${date}, ${report.findings.length} finding(s)`,
      ].join('\n'),
    );
  }
  return report.findings.length === 0 ? 0 : 1;
});
