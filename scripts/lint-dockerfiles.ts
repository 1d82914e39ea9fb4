// Lints every service's Dockerfile (scripts/checks/dockerfile-lint.ts): syntax, then the rules
// this project's images keep. Problems on stderr; exit code 1 when there is one.
import { lintService } from './checks/dockerfile-lint.ts';
import { CliError, commandName, runCommand } from './cli/command.ts';
import { loadWorkspace } from './workspace/manifests.ts';

const spec = {
  name: commandName(import.meta.url),
  summary: "Lint every service's Dockerfile: syntax, then this project's image rules.",
  flags: {},
};

process.exitCode = await runCommand(spec, () => {
  let problems: string[];
  let files: string;
  try {
    const workspace = loadWorkspace();
    problems = workspace.services.flatMap((s) => lintService(s, workspace.root));
    files = workspace.services.map((s) => s.manifest.image.build.dockerfile).join(', ');
  } catch (error) {
    throw new CliError('Dockerfile lint could not run', (error as Error).message);
  }
  for (const p of problems) process.stderr.write(`${p}\n`);
  if (problems.length > 0)
    throw new CliError('Dockerfile lint failed', `${problems.length} problem(s)`);
  process.stderr.write(`Dockerfile lint passed: ${files}\n`);
  return 0;
});
