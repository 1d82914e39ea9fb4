// One place that builds AWS SDK clients, so --region and --profile apply to every call, and
// every call has a bounded connection and request timeout. Endpoints are the SDK's own:
// AWS_ENDPOINT_URL_<SERVICE> before AWS_ENDPOINT_URL (an emulator such as moto_server in tests),
// then a profile's endpoint_url, else the region's partition (@smithy/core, endpoints
// getEndpointUrlConfig); an endpoint given to a client would override them all, so none is.
// Clients are created lazily: a script that only prints a plan constructs none, and so cannot
// make an AWS call by accident.
import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { awsFailureKind, CliError } from '../cli/command.ts';

/** Attempts per call, the first included (the SDK's standard retry mode backs off between them). */
const MAX_ATTEMPTS = 3;

interface AwsOptions {
  region?: string | undefined;
  profile?: string | undefined;
}

function clientConfig(options: AwsOptions) {
  // An empty --region (`--region "$REGION"` with REGION unset) is none, as an empty --profile is.
  const region = options.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  return {
    ...(region ? { region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    maxAttempts: MAX_ATTEMPTS,
    // throwOnRequestTimeout: without it @smithy/node-http-handler (4.x) only logs a WARN at
    // requestTimeout and keeps waiting, so an endpoint that accepts and never answers hangs.
    requestHandler: {
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
      throwOnRequestTimeout: true,
    },
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
  readonly secretsManager: SecretsManagerClient;
  readonly apigw: ApiGatewayV2Client;
}

export function createClients(options: AwsOptions): AwsClients {
  const config = clientConfig(options);
  // Keyed by the client's class: one client of each, made on first use.
  const cache = new Map<unknown, unknown>();
  const lazy = <T>(Client: new (c: typeof config) => T): T => {
    if (!cache.has(Client)) cache.set(Client, new Client(config));
    return cache.get(Client) as T;
  };
  return {
    get cfn() {
      return lazy(CloudFormationClient);
    },
    get sts() {
      return lazy(STSClient);
    },
    get ecs() {
      return lazy(ECSClient);
    },
    get elb() {
      return lazy(ElasticLoadBalancingV2Client);
    },
    get ec2() {
      return lazy(EC2Client);
    },
    get logs() {
      return lazy(CloudWatchLogsClient);
    },
    get ssm() {
      return lazy(SSMClient);
    },
    get secretsManager() {
      return lazy(SecretsManagerClient);
    },
    get apigw() {
      return lazy(ApiGatewayV2Client);
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
  const command = new GetCallerIdentityCommand({});
  const sentTo = recordTarget(command);
  try {
    const out = await clients.sts.send(command);
    const region = await clients.sts.config.region();
    return { account: out.Account ?? '?', arn: out.Arn ?? '?', region };
  } catch (error) {
    const e = error as Error;
    const kind = awsFailureKind(error);
    // No region is not a credentials problem: the one error handler words it (--region, exit 2).
    if (kind === 'region') throw error;
    // No route to STS says nothing about the credentials: tell the two apart.
    if (kind === 'network') {
      throw new CliError(
        `${cmd}: cannot reach AWS STS at ${sentTo() ?? 'its endpoint'} (nothing was changed)`,
        `${e.name}: ${e.message}`,
        'check your network (or proxy), AWS_ENDPOINT_URL and --region, then run this again',
      );
    }
    // Throttled, or STS failing on its side, after every retry: the credentials may be fine.
    if (kind === 'other' && unavailable(error)) {
      throw new CliError(
        `${cmd}: AWS STS did not answer, after ${MAX_ATTEMPTS} attempts (nothing was changed)`,
        `${e.name}: ${e.message}`,
        'wait a minute, then run this again',
      );
    }
    throw new CliError(
      `${cmd}: no usable AWS credentials (STS GetCallerIdentity failed)`,
      `${e.name}: ${e.message}`,
      'aws sts get-caller-identity   (then aws configure, aws sso login, or --profile <name>)',
    );
  }
}

/**
 * A throttling answer or a server fault: what the SDK's standard retry strategy retries, by HTTP
 * status (429, 5xx) or error name (@smithy/core, retry/service-error-classification: STS's
 * Query API names it `Throttling`, JSON APIs `ThrottlingException`).
 */
function unavailable(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode ?? 0;
  return (
    status === 429 ||
    status >= 500 ||
    /Throttl|RequestLimitExceeded|TooManyRequests/.test(String(e.name))
  );
}

/** Where the SDK sent the command, once it resolved the endpoint: for messages. */
function recordTarget(command: GetCallerIdentityCommand): () => string | undefined {
  let target: string | undefined;
  command.middlewareStack.add(
    (next) => (args) => {
      const { protocol, hostname, port } = args.request as {
        protocol: string;
        hostname: string;
        port?: number;
      };
      target = `${protocol}//${hostname}${port ? `:${port}` : ''}`;
      return next(args);
    },
    { step: 'finalizeRequest' },
  );
  return () => target;
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
