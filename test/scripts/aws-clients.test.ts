// The scripts' AWS SDK clients (scripts/cloud/aws.ts): which region and profile every call uses
// (--region, then AWS_REGION, then AWS_DEFAULT_REGION, as the AWS CLI orders them; else the
// profile's region in the config file, read by the SDK), the endpoints the SDK resolves
// (AWS_ENDPOINT_URL_STS before AWS_ENDPOINT_URL), the retries, and what a user is told when STS
// GetCallerIdentity fails, naming the endpoint the call went to. STS is a local server answering as STS's
// Query API does (https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html).
import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it, vi } from 'vitest';
import { awsFailureKind, formatError } from '../../scripts/cli/command.ts';
import {
  type AwsClients,
  callerIdentity,
  createClients,
  stackNames,
} from '../../scripts/cloud/aws.ts';
import { cliErrorOf } from '../helpers/cli-error.ts';
import { type Answer, recordingServer } from '../helpers/recording-server.ts';
import { scratchFolders } from '../helpers/scratch.ts';

const scratch = scratchFolders('aws-clients');

/** No region, profile, endpoint or config file but the test's own; static keys, no IMDS. */
function isolatedEnv(env: Record<string, string | undefined> = {}): void {
  const none = scratch().root;
  const base: Record<string, string | undefined> = {
    AWS_REGION: undefined,
    AWS_DEFAULT_REGION: undefined,
    AWS_PROFILE: undefined,
    AWS_ENDPOINT_URL: undefined,
    AWS_ENDPOINT_URL_STS: undefined,
    AWS_CONFIG_FILE: `${none}/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${none}/credentials`,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_SESSION_TOKEN: undefined,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  for (const [k, v] of Object.entries({ ...base, ...env })) vi.stubEnv(k, v);
}

const regionOf = (clients: AwsClients) => clients.sts.config.region();

const IDENTITY =
  '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
  '<Arn>arn:aws:iam::123456789012:user/alice</Arn><UserId>AIDA</UserId><Account>123456789012</Account>' +
  '</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>';

const stsError = (status: number, code: string, message: string): Answer => ({
  status,
  headers: { 'content-type': 'text/xml' },
  body:
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>' +
    `<Code>${code}</Code><Message>${message}</Message></Error><RequestId>1</RequestId></ErrorResponse>`,
});

/** AwsClients whose STS fails as given, for the messages' wording. */
function failingSts(error: object, endpoint?: () => Promise<unknown>): AwsClients {
  const sts = {
    send: () => Promise.reject(Object.assign(new Error('failed'), error)),
    config: { region: async () => 'eu-west-1', endpoint },
  };
  return { sts } as unknown as AwsClients;
}

describe('createClients: region and profile', () => {
  it('takes --region over AWS_REGION over AWS_DEFAULT_REGION', async () => {
    isolatedEnv({ AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'eu-central-1' });
    expect(await regionOf(createClients({ region: 'eu-west-3' }))).toBe('eu-west-3');
    expect(await regionOf(createClients({}))).toBe('us-west-2');
    vi.stubEnv('AWS_REGION', undefined);
    expect(await regionOf(createClients({}))).toBe('eu-central-1');
  });

  it('takes an empty --region as none, as it does an empty --profile', async () => {
    isolatedEnv({ AWS_DEFAULT_REGION: 'eu-central-1' });
    expect(await regionOf(createClients({ region: '' }))).toBe('eu-central-1');
    vi.stubEnv('AWS_REGION', 'us-west-2');
    expect(await regionOf(createClients({ region: '' }))).toBe('us-west-2');
  });

  it("falls back on the profile's region in the config file: --profile, else AWS_PROFILE", async () => {
    const dir = scratch();
    dir.write('config', '[default]\nregion = us-east-2\n[profile work]\nregion = ap-south-1\n');
    isolatedEnv({ AWS_CONFIG_FILE: `${dir.root}/config` });
    expect(await regionOf(createClients({}))).toBe('us-east-2');
    expect(await regionOf(createClients({ profile: 'work' }))).toBe('ap-south-1');
    expect(await regionOf(createClients({ profile: 'work', region: 'eu-west-3' }))).toBe(
      'eu-west-3',
    );
    vi.stubEnv('AWS_PROFILE', 'work');
    expect(await regionOf(createClients({ profile: '' }))).toBe('ap-south-1');
    expect(createClients({ profile: 'work' }).ecs.config.profile).toBe('work');
  });

  it('gives every client the same region and attempts', async () => {
    isolatedEnv();
    const clients = createClients({ region: 'eu-west-3' });
    const all = [
      [clients.cfn, CloudFormationClient],
      [clients.sts, STSClient],
      [clients.ecs, ECSClient],
      [clients.elb, ElasticLoadBalancingV2Client],
      [clients.ec2, EC2Client],
      [clients.logs, CloudWatchLogsClient],
      [clients.ssm, SSMClient],
      [clients.secretsManager, SecretsManagerClient],
      [clients.apigw, ApiGatewayV2Client],
    ] as const;
    for (const [client, kind] of all) {
      expect(client).toBeInstanceOf(kind);
      expect(await client.config.region()).toBe('eu-west-3');
      expect(await client.config.maxAttempts()).toBe(3);
      const handler = client.config.requestHandler as unknown as {
        configProvider: Promise<{
          connectionTimeout?: number;
          requestTimeout?: number;
          throwOnRequestTimeout?: boolean;
        }>;
      };
      // Without throwOnRequestTimeout the handler only warns at requestTimeout and waits on: an
      // endpoint that accepts and never answers would hang every script.
      expect(await handler.configProvider).toMatchObject({
        connectionTimeout: 5_000,
        requestTimeout: 30_000,
        throwOnRequestTimeout: true,
      });
    }
  });

  it('builds each client once, when first used', () => {
    isolatedEnv();
    const clients = createClients({ region: 'eu-west-3' });
    expect(clients.sts).toBe(clients.sts);
    expect(clients.cfn).toBe(clients.cfn);
    expect(clients.sts).not.toBe(createClients({ region: 'eu-west-3' }).sts);
  });
});

describe('callerIdentity', () => {
  it('returns the account, the ARN and the region the clients use', async () => {
    const sts = await recordingServer(() => ({
      status: 200,
      headers: { 'content-type': 'text/xml' },
      body: IDENTITY,
    }));
    try {
      isolatedEnv({ AWS_ENDPOINT_URL: sts.url, AWS_REGION: 'eu-west-3' });
      expect(await callerIdentity(createClients({}), 'deploy')).toEqual({
        account: '123456789012',
        arn: 'arn:aws:iam::123456789012:user/alice',
        region: 'eu-west-3',
      });
      expect(sts.asked).toHaveLength(1);
    } finally {
      await sts.close();
    }
  });

  it('with no region anywhere: the error handler says to pass --region, not that credentials are bad', async () => {
    isolatedEnv();
    const error = await callerIdentity(createClients({}), 'deploy').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(awsFailureKind(error)).toBe('region');
    expect(formatError(error, 'deploy')).toMatch(/^deploy: no AWS region: Region is missing\n/);
    expect(formatError(error, 'deploy')).toMatch(/--region <region>/);
    expect(formatError(error, 'deploy')).not.toMatch(/credentials/);
  });

  it('with an expired session token: says the credentials are not usable', async () => {
    const sts = await recordingServer(() =>
      stsError(400, 'ExpiredToken', 'The security token included in the request is expired'),
    );
    try {
      isolatedEnv({ AWS_ENDPOINT_URL: sts.url, AWS_REGION: 'eu-west-3' });
      const error = await cliErrorOf(callerIdentity(createClients({}), 'init'));
      expect(error.what).toBe('init: no usable AWS credentials (STS GetCallerIdentity failed)');
      expect(error.why).toBe('ExpiredToken: The security token included in the request is expired');
      expect(error.next).toBe(
        'aws sts get-caller-identity   (then aws configure, aws sso login, or --profile <name>)',
      );
      expect(sts.asked).toHaveLength(1);
    } finally {
      await sts.close();
    }
  });

  it('with STS failing on its side: tries 3 times, then says so, not that credentials are bad', async () => {
    const sts = await recordingServer(() => stsError(500, 'InternalFailure', 'internal error'));
    try {
      isolatedEnv({ AWS_ENDPOINT_URL: sts.url, AWS_REGION: 'eu-west-3' });
      const error = await cliErrorOf(callerIdentity(createClients({}), 'deploy'));
      expect(sts.asked).toHaveLength(3);
      expect(error.what).toBe(
        'deploy: AWS STS did not answer, after 3 attempts (nothing was changed)',
      );
      expect(error.why).toBe('InternalFailure: internal error');
      expect(error.next).toBe('wait a minute, then run this again');
    } finally {
      await sts.close();
    }
  });

  it.each([
    [{ name: 'Throttling', $metadata: { httpStatusCode: 400 } }],
    [{ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }],
    [{ name: 'RequestLimitExceeded' }],
    [{ name: 'TooManyRequestsException' }],
    [{ name: 'SlowDown', $metadata: { httpStatusCode: 429 } }],
    [{ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }],
    [{ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } }],
  ])('throttled or unavailable (%o): says STS did not answer', async (failure) => {
    const error = await cliErrorOf(callerIdentity(failingSts(failure), 'deploy'));
    expect(error.what).toBe(
      'deploy: AWS STS did not answer, after 3 attempts (nothing was changed)',
    );
    expect(error.why).toBe(`${failure.name}: failed`);
  });

  it.each([
    [{ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }],
    [{ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } }],
    [{ name: 'InvalidClientTokenId', $metadata: { httpStatusCode: 403 } }],
    [{ name: 'ExpiredToken', $metadata: { httpStatusCode: 500 } }],
    [{ name: 'Error' }],
  ])('refused (%o): says the credentials are not usable', async (failure) => {
    const error = await cliErrorOf(callerIdentity(failingSts(failure), 'deploy'));
    expect(error.what).toBe('deploy: no usable AWS credentials (STS GetCallerIdentity failed)');
  });

  // The SDK resolves the endpoint per call (a region's partition, AWS_ENDPOINT_URL_STS, a
  // profile's endpoint_url): the message names the one the request was sent to.
  it.each<[Record<string, unknown>, string]>([
    [{ region: 'eu-west-1' }, 'https://sts.eu-west-1.amazonaws.com'],
    [{ region: 'cn-north-1' }, 'https://sts.cn-north-1.amazonaws.com.cn'],
    [{ region: 'us-gov-west-1' }, 'https://sts.us-gov-west-1.amazonaws.com'],
    [{ region: 'eu-west-1', useFipsEndpoint: true }, 'https://sts-fips.eu-west-1.amazonaws.com'],
    [
      { region: 'eu-west-1', endpoint: 'https://sts.example.com:8443' },
      'https://sts.example.com:8443',
    ],
  ])('with no route (%o): names the endpoint the call went to, %s', async (config, endpoint) => {
    isolatedEnv();
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const sts = new STSClient({
      ...config,
      maxAttempts: 1,
      requestHandler: { handle: () => Promise.reject(refused) },
    });
    const error = await cliErrorOf(callerIdentity({ sts } as unknown as AwsClients, 'deploy'));
    expect(error.what).toBe(`deploy: cannot reach AWS STS at ${endpoint} (nothing was changed)`);
  });

  it('with no route and no request made: says "its endpoint"', async () => {
    const error = await cliErrorOf(callerIdentity(failingSts({ code: 'ECONNREFUSED' }), 'deploy'));
    expect(error.what).toBe('deploy: cannot reach AWS STS at its endpoint (nothing was changed)');
  });

  // The SDK's order (@smithy/core, getEndpointUrlConfig): AWS_ENDPOINT_URL_<SERVICE> first, then
  // AWS_ENDPOINT_URL; an endpoint given to the client would override both.
  it('sends STS calls to AWS_ENDPOINT_URL_STS before AWS_ENDPOINT_URL, and names it', async () => {
    const general = await recordingServer(() => stsError(403, 'InvalidClientTokenId', 'no'));
    const sts = await recordingServer(() => ({
      status: 200,
      headers: { 'content-type': 'text/xml' },
      body: IDENTITY,
    }));
    try {
      isolatedEnv({
        AWS_ENDPOINT_URL: general.url,
        AWS_ENDPOINT_URL_STS: sts.url,
        AWS_REGION: 'eu-west-3',
      });
      expect((await callerIdentity(createClients({}), 'deploy')).account).toBe('123456789012');
      expect([general.asked.length, sts.asked.length]).toEqual([0, 1]);
      await sts.close();
      const error = await cliErrorOf(callerIdentity(createClients({}), 'deploy'));
      expect(error.what).toBe(`deploy: cannot reach AWS STS at ${sts.url} (nothing was changed)`);
      expect(general.asked).toHaveLength(0);
    } finally {
      await general.close();
      await sts.close().catch(() => undefined);
    }
  });

  it('fills in what STS left out of its answer', async () => {
    const sts = {
      send: async () => ({}),
      config: { region: async () => 'eu-west-1' },
    };
    const clients = { sts } as unknown as AwsClients;
    expect(await callerIdentity(clients, 'deploy')).toEqual({
      account: '?',
      arn: '?',
      region: 'eu-west-1',
    });
  });
});

describe('stackNames', () => {
  it("names the project's stacks after the app and environment", () => {
    const names = stackNames('shop', 'test');
    expect(names).toMatchObject({
      env: 'shop-test',
      httpApi: 'shop-test-http-api',
      bastion: 'shop-test-bastion',
    });
    expect(names.service('books')).toBe('shop-test-books');
  });
});
