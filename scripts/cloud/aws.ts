// One place that builds AWS SDK clients, so --region, --profile and AWS_ENDPOINT_URL (an
// emulator such as moto_server in tests) apply to every call, and every call has a bounded
// connection and request timeout. Clients are created lazily: a script that only prints a plan
// constructs none, and so cannot make an AWS call by accident.
import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { awsFailureKind, CliError } from '../cli/command.ts';

interface AwsOptions {
  region?: string | undefined;
  profile?: string | undefined;
}

function clientConfig(options: AwsOptions) {
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  const endpoint = process.env.AWS_ENDPOINT_URL;
  return {
    ...(region ? { region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(endpoint ? { endpoint } : {}),
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  };
}

export interface AwsClients {
  readonly cfn: CloudFormationClient;
  readonly sts: STSClient;
  readonly ecs: ECSClient;
  readonly elb: ElasticLoadBalancingV2Client;
  readonly ec2: EC2Client;
  readonly logs: CloudWatchLogsClient;
  readonly ssm: SSMClient;
  readonly apigw: ApiGatewayV2Client;
}

export function createClients(options: AwsOptions): AwsClients {
  const config = clientConfig(options);
  const cache = new Map<string, unknown>();
  const lazy = <T>(key: string, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as T;
  };
  return {
    get cfn() {
      return lazy('cfn', () => new CloudFormationClient(config));
    },
    get sts() {
      return lazy('sts', () => new STSClient(config));
    },
    get ecs() {
      return lazy('ecs', () => new ECSClient(config));
    },
    get elb() {
      return lazy('elb', () => new ElasticLoadBalancingV2Client(config));
    },
    get ec2() {
      return lazy('ec2', () => new EC2Client(config));
    },
    get logs() {
      return lazy('logs', () => new CloudWatchLogsClient(config));
    },
    get ssm() {
      return lazy('ssm', () => new SSMClient(config));
    },
    get apigw() {
      return lazy('apigw', () => new ApiGatewayV2Client(config));
    },
  };
}

export interface Identity {
  account: string;
  arn: string;
  region: string;
}

/** STS GetCallerIdentity: the cheapest proof that credentials work, and whose they are. */
export async function callerIdentity(clients: AwsClients, cmd: string): Promise<Identity> {
  try {
    const out = await clients.sts.send(new GetCallerIdentityCommand({}));
    const region = await clients.sts.config.region();
    return { account: out.Account ?? '?', arn: out.Arn ?? '?', region };
  } catch (error) {
    const e = error as Error;
    // No route to STS says nothing about the credentials: tell the two apart.
    if (awsFailureKind(error) === 'network') {
      const endpoint = await stsEndpoint(clients);
      throw new CliError(
        `${cmd}: cannot reach AWS STS at ${endpoint} (nothing was changed)`,
        `${e.name}: ${e.message}`,
        'check your network (or proxy), AWS_ENDPOINT_URL and --region, then run this again',
      );
    }
    throw new CliError(
      `${cmd}: no usable AWS credentials (STS GetCallerIdentity failed)`,
      `${e.name}: ${e.message}`,
      'aws sts get-caller-identity   (then aws configure, aws sso login, or --profile <name>)',
    );
  }
}

/** The STS endpoint the client calls, for messages: the configured one, else the region's. */
async function stsEndpoint(clients: AwsClients): Promise<string> {
  try {
    const configured = await clients.sts.config.endpoint?.();
    if (configured)
      return `${configured.protocol}//${configured.hostname}${configured.port ? `:${configured.port}` : ''}`;
    return `https://sts.${await clients.sts.config.region()}.amazonaws.com`;
  } catch {
    return 'its endpoint';
  }
}

/**
 * The environment stack's OUTPUT keys this project reads. Keys differ from export names: the
 * ALB's DNS name is the output `InternalLoadBalancerDNSName` and the export
 * `<app>-<env>-InternalLoadBalancerDNS` (aws/copilot-cli v1.33.2,
 * internal/pkg/template/templates/environment/cf.yml, Outputs). The internal-ALB ones exist only
 * while a Backend Service with `http` is deployed (condition CreateInternalALB).
 */
export const ENV_OUTPUT = {
  vpcId: 'VpcId',
  privateSubnets: 'PrivateSubnets',
  clusterId: 'ClusterId',
  listenerArn: 'InternalHTTPListenerArn',
  albDns: 'InternalLoadBalancerDNSName',
  albSecurityGroup: 'InternalLoadBalancerSecurityGroup',
} as const;

/** The internal-ALB outputs, in the order a message lists them. */
export const INTERNAL_ALB_OUTPUTS = [
  ENV_OUTPUT.listenerArn,
  ENV_OUTPUT.albSecurityGroup,
  ENV_OUTPUT.albDns,
] as const;

/**
 * The HTTP API stack's output with the URL clients use: the custom domain's when the stack has
 * one, else the execute-api endpoint (addons/http-api.yml, Outputs).
 */
export const API_URL_OUTPUT = 'PublicEndpoint';

/** The stack names this project uses, derived from the app and environment. */
export const stackNames = (app: string, env: string) => ({
  env: `${app}-${env}`,
  service: (svc: string) => `${app}-${env}-${svc}`,
  httpApi: `${app}-${env}-http-api`,
  bastion: `${app}-${env}-bastion`,
});
