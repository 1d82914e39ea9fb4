// Validates the CloudFormation templates (addons/*.yml, iam/*.yml) offline: cfn-lint, then cfn-guard with
// AWS Control Tower's proactive controls (scripts/checks/templates.ts). Exit codes: 0 valid,
// 1 a problem without a recorded exception, 2 a validator could not run.
import path from 'node:path';
import { CfnLintMissingError, repositoryTemplates, validateTemplates } from './checks/templates.ts';
import { CliError, commandName, invocation, output, runCommand } from './cli/command.ts';

const spec = {
  name: commandName(import.meta.url),
  summary: 'Validate the CloudFormation templates with cfn-lint and cfn-guard.',
  flags: {},
  positionals: {
    valueName: 'template.yml',
    description: 'Templates to validate (default: addons/*.yml and iam/*.yml)',
  },
};

process.exitCode = await runCommand(spec, (_, args) => {
  let problems: string[];
  const files = args.length > 0 ? args.map((f) => path.resolve(f)) : repositoryTemplates();
  try {
    problems = validateTemplates(files);
  } catch (error) {
    const next = error instanceof CfnLintMissingError ? error.nextCommand : invocation(spec.name);
    throw new CliError('template validation could not run', (error as Error).message, next, 2);
  }
  if (problems.length === 0) return void output(`\n${files.length} template(s) valid.`);
  process.stderr.write(`\ntemplates are not valid: ${problems.length} problem(s)\n`);
  for (const problem of problems) process.stderr.write(`  ${problem}\n`);
  process.stderr.write(
    `fix the template, or record a justified exception in policy/exceptions.yml (templates:) or, for cfn-lint, in the template's Metadata (cfn-lint config ignore_checks), then run: ${invocation(spec.name)}\n`,
  );
  return 1;
});
