// Mutation testing of what changed: Stryker over the files of its mutate list that differ from
// a base (main by default: committed, staged, unstaged or new), incrementally, so a developer
// re-tests a change in minutes instead of the whole list (docs/mutation.md).
import { $ } from 'zx';
import config from '../stryker.config.mjs';
import { changedTargets } from './checks/mutation-report.ts';
import { CliError, commandName, type FlagSpecs, output, runCommand } from './cli/command.ts';
import { runProcessSync } from './cli/process.ts';
import { repoRoot } from './workspace/manifests.ts';

const NAME = commandName(import.meta.url);
const flags = {
  base: { type: 'string', default: 'main', valueName: 'ref', description: 'Compare with this ref' },
  dryRun: { type: 'boolean', description: 'Print the files it would mutate, and run nothing' },
} as const satisfies FlagSpecs;

const spec = {
  name: NAME,
  summary: 'Run Stryker over the files of its mutate list that changed since a base (main).',
  flags,
};

/**
 * git in this checkout, whatever the cwd: elsewhere it diffs another repository, or none (and
 * prints its whole usage). Its first line says why, as the one-line error format wants.
 */
function git(args: string[]): string[] {
  const result = runProcessSync('git', ['-C', repoRoot, ...args]);
  if (result.code !== 0) {
    const why = result.stderr.trim().split('\n')[0] || `exit code ${result.code}`;
    throw new CliError(`${NAME}: git ${args.join(' ')} failed`, why, `git -C ${repoRoot} status`);
  }
  return result.stdout.split('\n').filter((line) => line !== '');
}

process.exitCode = await runCommand(spec, async (f) => {
  const changed = [
    ...git(['diff', '--name-only', '--diff-filter=d', `${f.base}...HEAD`]),
    ...git(['diff', '--name-only', '--diff-filter=d', 'HEAD']),
    ...git(['ls-files', '--others', '--exclude-standard']),
  ];
  const targets = changedTargets(changed, (config as { mutate: string[] }).mutate);
  if (targets.length === 0) {
    output(
      `nothing in the mutate list changed since ${f.base}; npm run mutate re-tests what changed tests cover`,
    );
    return 0;
  }
  output(targets.join('\n'));
  if (f.dryRun) return 0;
  const run = await $({
    cwd: repoRoot,
    stdio: 'inherit',
    nothrow: true,
  })`stryker run --mutate ${targets.join(',')}`;
  return run.exitCode ?? 1;
});
