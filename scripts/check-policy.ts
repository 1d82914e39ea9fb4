// Prints each policy control over the Copilot manifests and overrides with its status
// (scripts/checks/policy.ts), and exits non-zero on a FAIL without a recorded exception, or on a
// stale or misspelt exception. Exit codes: 0 the policy holds, 1 it does not, 2 the manifests or
// exceptions cannot be read.
import path from 'node:path';
import {
  checkPolicy,
  EXCEPTIONS_FILE,
  formatPolicyTable,
  loadExceptions,
} from './checks/policy.ts';
import {
  CliError,
  commandName,
  type FlagSpecs,
  invocation,
  output,
  runCommand,
} from './cli/command.ts';
import { loadWorkspace } from './workspace/manifests.ts';

const flags = {
  root: {
    type: 'string',
    valueName: 'dir',
    description: 'Another checkout (the tests use fixture copies)',
  },
  json: { type: 'boolean', description: 'Print the rows and problems as JSON on stdout' },
} as const satisfies FlagSpecs;

const spec = {
  name: commandName(import.meta.url),
  summary: 'Check the policy controls over the Copilot manifests and overrides.',
  flags,
};

function evaluate(root: string | undefined) {
  try {
    const workspace = loadWorkspace(root === undefined ? undefined : path.resolve(root));
    return checkPolicy(workspace, loadExceptions(workspace.root));
  } catch (error) {
    throw new CliError(
      `${spec.name}: cannot evaluate the policy`,
      (error as Error).message,
      invocation(spec.name),
      2,
    );
  }
}

process.exitCode = await runCommand(spec, (f) => {
  const report = evaluate(f.root);
  if (f.json) {
    output(JSON.stringify(report, null, 2));
  } else {
    output(formatPolicyTable(report.rows));
    const count = (status: string) => report.rows.filter((r) => r.status === status).length;
    output(
      `\n${count('PASS')} pass, ${count('EXCEPTION')} exception (reasons in ${EXCEPTIONS_FILE}), ${count('FAIL')} fail`,
    );
    // The templates are CloudFormation: cfn-lint and cfn-guard (Control Tower rules) check them,
    // with their exceptions under `templates:` in the same policy/exceptions.yml.
    output(
      `addons/*.yml, iam/*.yml: run ${invocation('validate-templates')} (cfn-lint, cfn-guard)`,
    );
  }
  for (const problem of report.problems) process.stderr.write(`${spec.name}: ${problem}\n`);
  return report.problems.length === 0 ? 0 : 1;
});
