// deploy.ts and init.ts check their credentials first (STS GetCallerIdentity, scripts/cloud/
// aws.ts): no route to the endpoint must be told apart from missing or invalid credentials, as
// the other scripts' error handler tells them apart (awsFailureKind, scripts/cli/command.ts).
// Against real endpoints on this machine: a port nothing listens on, and a server answering as
// STS does to an unknown key.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { awsFailureKind, CliError } from '../../scripts/cli/command.ts';
import { type AwsClients, callerIdentity } from '../../scripts/cloud/aws.ts';
import { freePort } from './harness.ts';

const KEYS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

function clientsOn(endpoint: string, credentials: unknown = KEYS): AwsClients {
  const sts = new STSClient({
    endpoint,
    region: 'us-east-1',
    credentials: credentials as typeof KEYS,
    maxAttempts: 1,
  });
  return { sts } as unknown as AwsClients;
}

async function failure(clients: AwsClients): Promise<CliError> {
  try {
    await callerIdentity(clients, 'deploy');
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('callerIdentity did not fail');
}

describe('STS GetCallerIdentity failing', () => {
  it('with no route to the endpoint: says it cannot reach STS, not that credentials are bad', async () => {
    const port = await freePort();
    const error = await failure(clientsOn(`http://127.0.0.1:${port}`));
    expect(error.what).toBe(
      `deploy: cannot reach AWS STS at http://127.0.0.1:${port} (nothing was changed)`,
    );
    expect(error.why).toMatch(/ECONNREFUSED/);
    expect(error.next).toMatch(/^check your network/);
  });

  it('with an unknown key: says the credentials are not usable', async () => {
    // What STS answers to a key it does not know (a Query API error document).
    const server = http.createServer((req, res) => {
      req.resume();
      res
        .writeHead(403, { 'content-type': 'text/xml' })
        .end(
          '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>' +
            '<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message>' +
            '</Error><RequestId>1</RequestId></ErrorResponse>',
        );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const error = await failure(clientsOn(`http://127.0.0.1:${port}`));
      expect(error.what).toBe('deploy: no usable AWS credentials (STS GetCallerIdentity failed)');
      expect(error.why).toMatch(/InvalidClientTokenId/);
      expect(error.next).toMatch(/^aws sts get-caller-identity/);
    } finally {
      server.close();
    }
  });

  it('with no credentials at all: says so, having sent nothing', async () => {
    const port = await freePort();
    const missing = () =>
      Promise.reject(
        Object.assign(new Error('Could not load credentials from any providers'), {
          name: 'CredentialsProviderError',
        }),
      );
    const error = await failure(clientsOn(`http://127.0.0.1:${port}`, missing));
    expect(error.what).toBe('deploy: no usable AWS credentials (STS GetCallerIdentity failed)');
  });
});

describe('awsFailureKind', () => {
  it.each([
    [{ code: 'ECONNREFUSED' }, 'network'],
    [{ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND sts.example' }, 'network'],
    [{ name: 'TimeoutError', message: 'connect ETIMEDOUT' }, 'network'],
    [{ cause: { code: 'EAI_AGAIN' } }, 'network'],
    [{ name: 'CredentialsProviderError' }, 'credentials'],
    [{ name: 'ExpiredToken' }, 'credentials'],
    [{ name: 'InvalidClientTokenId' }, 'credentials'],
    [{ message: 'Region is missing' }, 'region'],
    [{ name: 'ValidationError', message: 'Stack x does not exist' }, 'other'],
  ])('%o is %s', (error, kind) => {
    expect(awsFailureKind(Object.assign(new Error(), error))).toBe(kind);
  });
});
