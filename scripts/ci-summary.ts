// Turns a script's output into what a GitHub Actions step writes: `outputs <file>` prints the
// step outputs (app, env, url) found in a --json report, for $GITHUB_OUTPUT; `section <title>
// <file>` prints Markdown for $GITHUB_STEP_SUMMARY: a deploy plan as a list, a deploy result as
// its URL and stacks, any other text as a code block. .github/workflows/deploy.yml uses both.
import { readFileSync } from 'node:fs';
import { CliError, commandName, invocation, output, runCommand } from './cli/command.ts';

const spec = {
  name: commandName(import.meta.url),
  summary: 'Format a script report for a GitHub Actions step: outputs or summary Markdown.',
  details: `usage: ${invocation(commandName(import.meta.url))} outputs <report.json>
       ${invocation(commandName(import.meta.url))} section <title> <report.json|text file>`,
  flags: {},
  positionals: { valueName: 'outputs|section ...', description: 'What to print, then its file(s)' },
};

interface Report {
  app?: string;
  env?: string;
  apiUrl?: string;
  plan?: { step: string; description: string }[];
  stacks?: Record<string, string>;
}

function parseReport(text: string): Report | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Report)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `key=value` lines for $GITHUB_OUTPUT (values are names and a URL: single lines). */
function stepOutputs(report: Report): string {
  const pairs = { app: report.app, env: report.env, url: report.apiUrl };
  return Object.entries(pairs)
    .filter(([, v]) => typeof v === 'string' && v !== '' && !v.includes('\n'))
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

/** Markdown for the run's summary page. */
function summarySection(title: string, text: string): string {
  const report = parseReport(text);
  const lines = [`### ${title}`, ''];
  if (report?.plan) {
    lines.push(
      `${report.app}/${report.env}:`,
      '',
      ...report.plan.map((s, i) => `${i + 1}. \`[${s.step}]\` ${s.description}`),
    );
  } else if (report?.stacks) {
    if (report.apiUrl) lines.push(`API: ${report.apiUrl}`, '');
    lines.push('| stack | result |', '| --- | --- |');
    lines.push(
      ...Object.entries(report.stacks).map(([stack, result]) => `| ${stack} | ${result} |`),
    );
  } else {
    const fence = text.includes('```') ? '~~~~' : '```';
    lines.push(fence, text.trimEnd() || '(no output)', fence);
  }
  return `${lines.join('\n')}\n`;
}

process.exitCode = await runCommand(spec, (_, args) => {
  const [mode, ...rest] = args;
  const read = (file: string | undefined) => {
    if (!file)
      throw new CliError(
        `${spec.name}: missing file`,
        'name the report to read',
        `${invocation(spec.name)} --help`,
        2,
      );
    return readFileSync(file, 'utf8');
  };
  if (mode === 'outputs') {
    const report = parseReport(read(rest[0]));
    if (!report)
      throw new CliError(
        `${spec.name}: ${rest[0]} is not a JSON report`,
        'expected the output of a script run with --json',
        undefined,
        2,
      );
    output(stepOutputs(report));
  } else if (mode === 'section') {
    // `section` alone once read as an unknown mode, though the message named it as expected.
    if (!rest[0])
      throw new CliError(
        `${spec.name}: missing title`,
        'name the section, then its file',
        `${invocation(spec.name)} --help`,
        2,
      );
    process.stdout.write(summarySection(rest[0], read(rest[1])));
  } else {
    throw new CliError(
      `${spec.name}: unknown mode ${mode ?? '(none)'}`,
      'expected outputs or section',
      `${invocation(spec.name)} --help`,
      2,
    );
  }
  return 0;
});
