// A deploy that fails anyway on a Lambda runtime: CloudFormation's failure event on the function
// carries Lambda's refusal, e.g. `Resource handler returned message: "The runtime parameter of
// nodejs12.x is no longer supported for creating or updating AWS Lambda functions. We recommend
// you use the new runtime (nodejs18.x) while creating or updating functions. ..."`
// (aws/copilot-cli#4940). The failure report names the function and prints the patch that fixes
// it, for the stack it failed in: Copilot's YAML patch file for a Copilot stack, the template
// for this repository's own stacks.
import { CliError, invocation, type Progress } from '../cli/command.ts';
import { patchFile, type RenderedStack, runtimePatchYaml } from '../workspace/overrides.ts';
import { isoDay, recommendedRuntime } from './lambda-runtimes.ts';

const REFUSAL =
  /^(\S+) \(AWS::(?:Lambda|Serverless)::Function\): .*The runtime parameter of (\S+) is no longer supported for creating or updating AWS Lambda functions/;

export interface Refusal {
  fn: string;
  runtime: string;
}

/** The refusals among a stack's failure reasons (EventStream.failureReasons's "Id (Type): reason"). */
export function lambdaRefusals(reasons: string[]): Refusal[] {
  return reasons.flatMap((r) => {
    const m = REFUSAL.exec(r);
    return m ? [{ fn: m[1] as string, runtime: m[2] as string }] : [];
  });
}

interface Where {
  cmd: string;
  env: string;
  stackName: string;
  /** A Copilot stack (its patch file is the fix), or this repository's template file. */
  stack: RenderedStack | { template: string };
  /** The `--only ...` part of the command that deploys this stack again. */
  again: string;
  today?: string;
}

/** The error for a stack that failed on Lambda refusing runtimes; the patch goes to the log. */
export function refusalError(refusals: Refusal[], where: Where, log: Progress): CliError {
  const runtime =
    recommendedRuntime(where.today ?? isoDay(Date.now())) ?? '<a runtime from the table>';
  const file = 'template' in where.stack ? where.stack.template : patchFile(where.stack);
  log.fail(
    `Lambda refused the runtime of ${refusals.map((r) => `${r.fn} (${r.runtime})`).join(', ')} in stack ${where.stackName}`,
  );
  if ('template' in where.stack) {
    for (const r of refusals) log.info(`  fix: set Runtime: ${runtime} on ${r.fn} in ${file}`);
  } else {
    log.info(`  fix: add to ${file}:`);
    for (const r of refusals) log.info(runtimePatchYaml(r.fn, runtime).replace(/^/gm, '    '));
  }
  return new CliError(
    `${where.cmd}: stack ${where.stackName} failed: Lambda refused a function's runtime`,
    `${refusals.map((r) => `${r.fn} runs ${r.runtime}, which Lambda no longer accepts for creating or updating functions`).join('; ')} (the fix is printed above)`,
    `${file}: set ${runtime} (npm run check:runtimes), then ${invocation(where.cmd)} --env ${where.env} ${where.again}`,
  );
}
