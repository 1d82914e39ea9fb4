// Validates the CloudFormation templates (addons/, iam/) with every offline means AWS offers,
// because none of them can be deployed from a laptop: cfn-lint (0 errors, 0 warnings), then
// cfn-guard with AWS Control Tower's proactive controls. Exceptions to a control live with
// every other policy exception in policy/exceptions.yml (`templates:`), each with its reason;
// an unexcepted failure or a stale exception fails the run.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { invocation } from '../cli/command.ts';
import { NOT_FOUND, runProcessSync } from '../cli/process.ts';
import { repoRoot } from '../workspace/manifests.ts';
import { loadTemplate } from '../workspace/template.ts';
import {
  CFN_GUARD_PACKAGE,
  ensureCfnGuard,
  formatGuardTable,
  type GuardInstall,
  guardTemplate,
} from './cfn-guard.ts';
import { loadExceptions } from './policy.ts';

interface LintFinding {
  level: string;
  rule: string;
  message: string;
  line: number;
}

interface CfnLintMatch {
  Level: string;
  Message: string;
  Rule: { Id: string };
  Location: { Start: { LineNumber: number } };
}

/** cfn-lint is a Python tool, absent from node_modules; say how to get it. */
export class CfnLintMissingError extends Error {
  override name = 'CfnLintMissingError';
  readonly nextCommand = `pip install cfn-lint && ${invocation('validate-templates')}`;
  constructor() {
    super('cannot run cfn-lint: it is not installed (a Python tool: pip install cfn-lint)');
  }
}

function runCfnLint(args: string[]) {
  const result = runProcessSync('cfn-lint', args);
  if (result.code === NOT_FOUND) throw new CfnLintMissingError();
  return result;
}

/** The installed cfn-lint's version, or undefined when it is not installed. */
export function cfnLintVersion(): string | undefined {
  try {
    return runCfnLint(['--version']).stdout.trim();
  } catch (error) {
    if (error instanceof CfnLintMissingError) return undefined;
    throw error;
  }
}

/** Every finding cfn-lint reports (informational ones only when its config includes them). */
export function lintTemplate(file: string): LintFinding[] {
  // cfn-lint's exit code is a bitmask of the levels found; the JSON tells the same in detail.
  const result = runCfnLint(['--format', 'json', '--', file]);
  let matches: CfnLintMatch[];
  try {
    matches = JSON.parse(result.stdout) as CfnLintMatch[];
  } catch {
    throw new Error(`cfn-lint could not lint ${file}: ${result.stderr.trim() || result.stdout}`);
  }
  return matches.map((m) => ({
    level: m.Level,
    rule: m.Rule.Id,
    message: m.Message,
    line: m.Location.Start.LineNumber,
  }));
}

/** The folders whose every .yml/.yaml file is a CloudFormation template. */
export const TEMPLATE_DIRS = ['addons', 'iam'] as const;

/** Every template of the repository: the addons and the CI deploy role, sorted per folder. */
export function repositoryTemplates(root: string = repoRoot): string[] {
  return TEMPLATE_DIRS.flatMap((folder) => {
    const dir = path.join(root, folder);
    return readdirSync(dir)
      .filter((name) => name.endsWith('.yml') || name.endsWith('.yaml'))
      .sort()
      .map((name) => path.join(dir, name));
  });
}

function lintProblems(file: string, relative: string): string[] {
  const findings = lintTemplate(file);
  const count = (level: string) => findings.filter((f) => f.level === level).length;
  // Informational findings appear only when a cfn-lint config asks for them (include_checks:
  // [I]); they fail the run as every finding does (cfn-lint's own exit code counts them), so
  // the count says so.
  const informational = count('Informational');
  const more = informational > 0 ? `, ${informational} informational` : '';
  console.log(`cfn-lint: ${count('Error')} errors, ${count('Warning')} warnings${more}`);
  return findings.map(
    (f) => `${relative}:${f.line}: cfn-lint ${f.rule} (${f.level}): ${f.message}`,
  );
}

function guardProblems(file: string, relative: string, install: GuardInstall): string[] {
  const report = guardTemplate(file, loadTemplate(file), guardExceptionsFor(relative), install);
  console.log(
    `cfn-guard ${install.guardVersion}, AWS Control Tower rules from ${CFN_GUARD_PACKAGE.name}@${CFN_GUARD_PACKAGE.version}:`,
  );
  console.log(formatGuardTable(report.rows));
  return report.problems.map((problem) => `${relative}: cfn-guard ${problem}`);
}

/** The cfn-guard exceptions policy/exceptions.yml records for one template: control to reason. */
export function guardExceptionsFor(relative: string, root: string = repoRoot): Map<string, string> {
  const entries = loadExceptions(root).templates.filter((e) => e.template === relative);
  return new Map(entries.map((e) => [e.control, e.reason]));
}

/** Validates each template, printing what it found on stdout; returns the problems. */
export function validateTemplates(files: string[] = repositoryTemplates()): string[] {
  const install = ensureCfnGuard();
  const problems: string[] = [];
  for (const file of files) {
    const relative = path.relative(repoRoot, file);
    console.log(`\n== ${relative}`);
    problems.push(...lintProblems(file, relative), ...guardProblems(file, relative, install));
  }
  return problems;
}
