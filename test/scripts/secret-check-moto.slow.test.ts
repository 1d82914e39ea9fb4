// Deploy's secret check (scripts/cloud/secret-check.ts) through the real SDK clients against
// moto_server's SSM and Secrets Manager: the requests as the SDK serialises them, and the answers
// the stores read (a missing parameter's InvalidResourceId, a missing secret's
// ResourceNotFoundException, a deleted secret's DeletedDate) as moto gives them, beside the
// doubles of secret-check.test.ts, which follow the API references.
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSecrets, type TaskSecret } from '../../scripts/cloud/secret-check.ts';
import { MOTO, missing } from '../helpers/tools.ts';
import { type Moto, motoClient, startMoto } from './harness.ts';

const skipMoto = missing(MOTO);
const WHERE = { cmd: 'deploy', app: 'bookstore', env: 'test', region: 'us-east-1' };
const TAGS = [
  { Key: 'copilot-application', Value: 'bookstore' },
  { Key: 'copilot-environment', Value: 'test' },
];

let moto: Moto;
let readers: { ssm: SSMClient; secretsManager: SecretsManagerClient };

beforeAll(async () => {
  if (skipMoto) return;
  moto = await startMoto();
  readers = {
    ssm: motoClient(moto, SSMClient),
    secretsManager: motoClient(moto, SecretsManagerClient),
  };
}, 30_000);

afterAll(async () => {
  await moto?.stop();
});

const task = (store: TaskSecret['store'], id: string, variable: string): TaskSecret => ({
  service: 'book-service',
  variable,
  store,
  id,
  named: id,
});

describe.skipIf(skipMoto)('the secret check against moto', () => {
  it('passes what is tagged, and names what is missing, untagged or being deleted', async () => {
    const { ssm, secretsManager } = readers;
    const parameter = (Name: string, tagged: boolean) =>
      ssm.send(
        new PutParameterCommand({
          Name,
          Value: 'v',
          Type: 'SecureString',
          ...(tagged ? { Tags: TAGS } : {}),
        }),
      );
    await parameter('/copilot/bookstore/test/secrets/db', true);
    await parameter('/copilot/bookstore/test/secrets/bare', false);
    const secret = (Name: string, tagged: boolean) =>
      secretsManager.send(
        new CreateSecretCommand({ Name, SecretString: 'v', ...(tagged ? { Tags: TAGS } : {}) }),
      );
    await secret('test/db', true);
    await secret('test/bare', false);
    await secret('test/going', true);
    await secretsManager.send(
      new DeleteSecretCommand({ SecretId: 'test/going', RecoveryWindowInDays: 7 }),
    );

    const found = await checkSecrets(
      readers,
      [
        task('ssm', '/copilot/bookstore/test/secrets/db', 'A'),
        task('ssm', '/copilot/bookstore/test/secrets/bare', 'B'),
        task('ssm', '/copilot/bookstore/test/secrets/absent', 'C'),
        task('secretsmanager', 'test/db', 'D'),
        task('secretsmanager', 'test/bare', 'E'),
        task('secretsmanager', 'test/absent', 'F'),
        task('secretsmanager', 'test/going', 'G'),
      ],
      WHERE,
    );
    expect(found.unchecked).toEqual([]);
    expect(found.problems).toEqual([
      expect.stringMatching(
        /^book-service: secret B: SSM parameter \/copilot\/bookstore\/test\/secrets\/bare lacks the tags copilot-application=bookstore, copilot-environment=test /,
      ),
      'book-service: secret C: SSM parameter /copilot/bookstore/test/secrets/absent does not exist in us-east-1',
      expect.stringMatching(
        /^book-service: secret E: Secrets Manager secret test\/bare lacks the tags copilot-application=bookstore, copilot-environment=test /,
      ),
      'book-service: secret F: Secrets Manager secret test/absent does not exist in us-east-1',
      expect.stringMatching(
        /^book-service: secret G: Secrets Manager secret test\/going is scheduled for deletion \(\d{4}-\d\d-\d\dT/,
      ),
    ]);
  });
});
