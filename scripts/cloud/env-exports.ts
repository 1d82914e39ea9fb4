// What the HTTP API stack (and the bastion's) needs from the Copilot environment stack, checked
// before it is deployed. The addon imports `<app>-<env>-<name>` exports; the internal ALB's exist only while
// a Backend Service with `http` is deployed (aws/copilot-cli v1.33.2,
// internal/pkg/template/templates/environment/cf.yml, condition CreateInternalALB, set through
// the service stack's EnvControllerAction). Without them the addon's change set fails with
// CloudFormation's "No export named ..." after the run has started: this says what to run.
//
// The check reads the environment stack's outputs (each export is an output of cf.yml under
// another key, below), not ListExports: the stack's outputs are what DescribeStacks reports on
// CloudFormation and on moto alike, while moto does not refresh a stack's exports on update.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CliError, invocation } from '../cli/command.ts';
import { ENV_OUTPUT, INTERNAL_ALB_OUTPUTS, stackNames } from './aws.ts';
import { describeStack, outputsOf } from './stack-deployer.ts';

/** cf.yml: export name suffix -> output key, for the exports this project may import. */
export const EXPORT_OUTPUT: Record<string, string> = {
  VpcId: ENV_OUTPUT.vpcId,
  PublicSubnets: 'PublicSubnets',
  PrivateSubnets: ENV_OUTPUT.privateSubnets,
  EnvironmentSecurityGroup: 'EnvironmentSecurityGroup',
  ClusterId: ENV_OUTPUT.clusterId,
  InternalHTTPListenerArn: ENV_OUTPUT.listenerArn,
  InternalLoadBalancerDNS: ENV_OUTPUT.albDns,
  InternalLoadBalancerSecurityGroup: ENV_OUTPUT.albSecurityGroup,
};

/** The internal ALB's exports: the HTTP API's integration targets its listener. */
const INTERNAL_ALB_EXPORTS = Object.keys(EXPORT_OUTPUT).filter((name) =>
  (INTERNAL_ALB_OUTPUTS as readonly string[]).includes(EXPORT_OUTPUT[name] ?? ''),
);

/** The `X` of every `Fn::ImportValue: !Sub ${App}-${Env}-X` in a parsed template. */
export function importedEnvExports(template: unknown): string[] {
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        const sub = (value as { 'Fn::Sub'?: unknown } | null)?.['Fn::Sub'];
        const m =
          key === 'Fn::ImportValue' &&
          typeof sub === 'string' &&
          /^\$\{App\}-\$\{Env\}-(\w+)$/.exec(sub);
        if (m) found.add(m[1] as string);
        else walk(value);
      }
    }
  };
  walk(template);
  return [...found];
}

/** Throws, naming the missing exports and what to run, unless the environment has them all. */
export async function requireEnvExports(
  cfn: CloudFormationClient,
  target: { app: string; env: string; template: unknown; step: string },
  cmd: string,
): Promise<void> {
  const { app, env } = target;
  const stackName = stackNames(app, env).env;
  const stack = await describeStack(cfn, stackName);
  if (!stack) {
    throw new CliError(
      `${cmd}: no environment stack ${stackName}`,
      'the HTTP API imports its exports; nothing was changed',
      `${invocation('init')} --env ${env}`,
    );
  }
  const outputs = outputsOf(stack);
  const wanted = [...new Set([...INTERNAL_ALB_EXPORTS, ...importedEnvExports(target.template)])];
  const missing = wanted.filter((name) => !outputs[EXPORT_OUTPUT[name] ?? name]);
  if (missing.length === 0) return;
  const alb = missing.some((name) => INTERNAL_ALB_EXPORTS.includes(name));
  throw new CliError(
    `${cmd}: stack ${stackName} does not export ${missing.map((m) => `${app}-${env}-${m}`).join(', ')}`,
    alb
      ? 'Copilot creates the internal ALB and its exports only once a Backend Service with http is deployed (environment/cf.yml, CreateInternalALB); nothing was changed'
      : `the HTTP API template imports them and the environment stack has no such output; nothing was changed`,
    alb
      ? `${invocation('deploy')} --env ${env} --only services,${target.step}`
      : `${invocation('deploy')} --env ${env} --only env,${target.step}`,
  );
}
