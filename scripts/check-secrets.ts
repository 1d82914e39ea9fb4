// Fails when a credential, a private key or a key file is in the repository (the scan and its
// rules: scripts/checks/secrets.ts). Findings go to stderr as file:line:column: rule: what, the
// summary to stdout. Exit codes: 0 clean, 1 findings (or a stale allowlist entry), 2 the check
// could not run.
import path from 'node:path';
import { EXCEPTIONS_FILE } from './checks/policy.ts';
import { checkSecrets, formatFinding, type SecretsReport } from './checks/secrets.ts';
import {
  CliError,
  commandName,
  type FlagSpecs,
  invocation,
  output,
  runCommand,
} from './cli/command.ts';

const flags = {
  root: { type: 'string', valueName: 'dir', description: 'Scan this checkout (default: this one)' },
  trackedOnly: {
    type: 'boolean',
    description: 'Only the files git tracks (default outside CI: also untracked, not ignored)',
  },
  json: { type: 'boolean', description: 'Print the report as JSON on stdout' },
} as const satisfies FlagSpecs;

const spec = {
  name: commandName(import.meta.url),
  summary: 'Fail on a credential, private key or key file in the repository.',
  flags,
};

process.exitCode = await runCommand(spec, (f) => {
  const root = path.resolve(f.root ?? path.join(import.meta.dirname, '..'));
  // In CI the checkout is what was committed; locally, new files are about to be.
  const untracked = !f.trackedOnly && !/^(1|true)$/i.test(process.env.CI ?? '');
  let report: SecretsReport;
  try {
    report = checkSecrets(root, { untracked });
  } catch (error) {
    throw new CliError(
      `${spec.name}: cannot scan ${root}`,
      (error as Error).message,
      invocation(spec.name),
      2,
    );
  }
  if (f.json) {
    output(JSON.stringify(report, null, 2));
  } else {
    for (const finding of report.findings) process.stderr.write(`${formatFinding(finding)}\n`);
    for (const line of report.stale) process.stderr.write(`${line}\n`);
    const scope = untracked ? 'tracked and untracked-not-ignored' : 'tracked';
    output(
      `${spec.name}: ${report.scanned} ${scope} files scanned, ${report.skipped.length} binary or large (names only), ${report.allowed.length} allowed by ${EXCEPTIONS_FILE}, ${report.findings.length} finding(s)`,
    );
  }
  return report.findings.length === 0 && report.stale.length === 0 ? 0 : 1;
});
