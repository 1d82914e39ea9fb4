// The Lambda functions of the deployed Copilot stacks (the environment's and each service's: the
// custom resources Copilot renders, scripts/workspace/copilot-lambdas.ts), with the runtime each
// was last deployed with, judged on the day. A function whose runtime Lambda refuses to update
// still runs, but CloudFormation can no longer update it: the next deploy that touches it fails
// (aws/copilot-cli#4940). Read-only: DescribeStackResources says which functions exist (one whose
// condition is false is not created), GetTemplate what runtime the stack gave each.
import {
  type CloudFormationClient,
  DescribeStackResourcesCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import { invocation } from '../cli/command.ts';
import { stackNames } from '../cloud/aws.ts';
import { lambdaRuntimes, recommendedRuntime, runtimeVerdict } from '../cloud/lambda-runtimes.ts';
import { describeStack } from '../cloud/stack-deployer.ts';
import { patchFile, type RenderedStack } from '../workspace/overrides.ts';
import { parseTemplate } from '../workspace/template.ts';
import { check, type DiagnosticCheck } from './diagnose-verdict.ts';

interface RuntimeContext {
  app: string;
  env: string;
  services: { name: string }[];
  /** YYYY-MM-DD. */
  today: string;
}

async function deployedFunctions(cfn: CloudFormationClient, stackName: string) {
  const resources =
    (await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName })))?.StackResources ??
    [];
  const created = new Set(
    resources
      .filter((r) => r.ResourceType === 'AWS::Lambda::Function')
      .map((r) => r.LogicalResourceId),
  );
  if (created.size === 0) return [];
  const body =
    (await cfn.send(new GetTemplateCommand({ StackName: stackName })))?.TemplateBody ?? '';
  return lambdaRuntimes(parseTemplate(body)).filter((f) => created.has(f.fn));
}

function stackCheck(
  stackName: string,
  stack: RenderedStack,
  functions: { fn: string; runtime: string }[],
  ctx: RuntimeContext,
): DiagnosticCheck {
  const name = `Lambda runtimes of ${stackName}`;
  if (functions.length === 0) return check(name, 'OK', 'no Lambda function deployed');
  const judged = functions.map((f) => ({ ...f, verdict: runtimeVerdict(f.runtime, ctx.today) }));
  const listed = judged.map((f) => `${f.fn} ${f.runtime}`).join(', ');
  const bad = judged.filter((f) => f.verdict.state !== 'ok');
  if (bad.length === 0) return check(name, 'OK', listed);
  const blocked = bad.filter((f) => f.verdict.state === 'update-blocked');
  const again =
    stack.kind === 'environment' ? '--only env' : `--only services --service ${stack.name}`;
  return check(
    name,
    'WARN',
    `${listed}; ${bad.map((f) => `${f.fn} ${f.verdict.summary}`).join('; ')}${blocked.length ? `: CloudFormation can no longer update ${blocked.map((f) => f.fn).join(', ')}` : ''}`,
    `set ${recommendedRuntime(ctx.today) ?? 'a supported runtime'} for ${bad.map((f) => f.fn).join(', ')} in ${patchFile(stack)} (npm run check:runtimes), then ${invocation('deploy')} --env ${ctx.env} ${again}`,
  );
}

/** One check per deployed Copilot stack; stacks not deployed are left to the other checks. */
export async function runtimeChecks(
  cfn: CloudFormationClient,
  ctx: RuntimeContext,
): Promise<DiagnosticCheck[]> {
  const names = stackNames(ctx.app, ctx.env);
  const stacks: [string, RenderedStack][] = [
    [names.env, { kind: 'environment' }],
    ...ctx.services.map((s): [string, RenderedStack] => [
      names.service(s.name),
      { kind: 'service', name: s.name },
    ]),
  ];
  const results: DiagnosticCheck[] = [];
  for (const [stackName, stack] of stacks) {
    if (!(await describeStack(cfn, stackName))) continue;
    results.push(stackCheck(stackName, stack, await deployedFunctions(cfn, stackName), ctx));
  }
  return results;
}
