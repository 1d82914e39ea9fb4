// Prints each policy control over the Copilot manifests and overrides with its status, and
// exits non-zero on a FAIL without a recorded exception, or on a stale or misspelt exception.
//
//   node scripts/check-policy.ts          the table on stdout, problems on stderr
//   node scripts/check-policy.ts --json   the rows and problems as JSON
//   --root <dir>                          another checkout (the tests use fixture copies)
//
// Exit codes: 0 the policy holds, 1 it does not, 2 the manifests or exceptions cannot be read.
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  checkPolicy,
  EXCEPTIONS_FILE,
  formatPolicyTable,
  loadExceptions,
} from './checks/policy.ts';
import { loadWorkspace } from './workspace/manifests.ts';

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      root: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: node scripts/check-policy.ts [--root <dir>] [--json]\n');
    return 0;
  }
  let report: ReturnType<typeof checkPolicy>;
  try {
    const workspace = loadWorkspace(
      values.root === undefined ? undefined : path.resolve(values.root),
    );
    report = checkPolicy(workspace, loadExceptions(workspace.root));
  } catch (error) {
    process.stderr.write(`check-policy: cannot evaluate the policy: ${(error as Error).message}\n`);
    return 2;
  }

  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatPolicyTable(report.rows)}\n`);
    const count = (status: string) => report.rows.filter((r) => r.status === status).length;
    process.stdout.write(
      `\n${count('PASS')} pass, ${count('EXCEPTION')} exception (reasons in ${EXCEPTIONS_FILE}), ${count('FAIL')} fail\n`,
    );
    // The addons are CloudFormation: cfn-lint and cfn-guard (Control Tower rules) check them,
    // with their exceptions under `templates:` in the same policy/exceptions.yml.
    process.stdout.write(
      'addons/*.yml: run node scripts/validate-templates.ts (cfn-lint, cfn-guard)\n',
    );
  }
  for (const problem of report.problems) process.stderr.write(`check-policy: ${problem}\n`);
  return report.problems.length === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
