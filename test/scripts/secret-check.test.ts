// Deploy's check of the SSM parameters and Secrets Manager secrets a service's `secrets:` names
// (scripts/cloud/secret-check.ts), against doubles answering as the API references document:
// SSM's ListTagsForResource (the parameter's tags, or InvalidResourceId for one that does not
// exist), Secrets Manager's DescribeSecret (the secret's tags and its deletion date, or
// ResourceNotFoundException), and AccessDenied for a caller the policy does not allow. Copilot's
// execution role reads either only when it is in the deploy's account and region and tagged
// copilot-application=<app> and copilot-environment=<env> (workloads/partials/cf/executionrole.yml,
// v1.33.2): a task started without one fails with ResourceInitializationError, after the deploy
// has waited for it.
import type { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { ListTagsForResourceCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import {
  checkSecrets,
  requireSecrets,
  type TaskSecret,
  taskSecrets,
} from '../../scripts/cloud/secret-check.ts';
import type { ServiceManifest } from '../../scripts/workspace/manifests.ts';
import { cliErrorOf } from '../helpers/cli-error.ts';

const WHERE = { cmd: 'deploy', app: 'bookstore', env: 'test', region: 'eu-west-1' };
const TAGGED = [
  { Key: 'copilot-application', Value: 'bookstore' },
  { Key: 'copilot-environment', Value: 'test' },
];

const service = (name: string, secrets?: ServiceManifest['secrets']) => ({
  name,
  manifest: { secrets } as ServiceManifest,
});

/** SSM answering ListTagsForResource from `parameters` (name -> tags); names asked, in order. */
/** null: an answer without a TagList (the SDK leaves out an absent list). */
function ssmWith(parameters: Record<string, { Key: string; Value: string }[] | Error | null>) {
  const asked: unknown[] = [];
  const ssm = {
    send: async (command: ListTagsForResourceCommand) => {
      asked.push(command.input);
      const found = parameters[command.input.ResourceId ?? ''];
      if (found instanceof Error) throw found;
      if (found === undefined) {
        throw Object.assign(new Error('The resource ID is not valid.'), {
          name: 'InvalidResourceId',
        });
      }
      return found === null ? {} : { TagList: found };
    },
  };
  return { ssm, asked };
}

/**
 * Secrets Manager answering DescribeSecret from `secrets` (id -> tags, or a deletion date); a
 * secret it lacks answers ResourceNotFoundException (Secrets Manager API reference).
 */
/** null: an answer without Tags (the SDK leaves out an absent list, as for an untagged secret). */
function secretsManagerWith(
  secrets: Record<string, { Key: string; Value: string }[] | { deleted: Date } | Error | null>,
) {
  const asked: unknown[] = [];
  const secretsManager = {
    send: async (command: DescribeSecretCommand) => {
      asked.push(command.input);
      const found = secrets[command.input.SecretId ?? ''];
      if (found instanceof Error) throw found;
      if (found === undefined) {
        throw Object.assign(new Error("Secrets Manager can't find the specified secret."), {
          name: 'ResourceNotFoundException',
        });
      }
      if (found === null) return {};
      return 'deleted' in found ? { DeletedDate: found.deleted } : { Tags: found };
    },
  };
  return { secretsManager, asked };
}

/** The stores' readers: `ssm`, and a Secrets Manager that has no secret unless given. */
const readers = (
  ssm: ReturnType<typeof ssmWith>['ssm'],
  secretsManager = secretsManagerWith({}).secretsManager,
) => ({ ssm, secretsManager });

const secret = (
  parameter: string,
  variable = 'DB_PASSWORD',
  service = 'book-service',
): TaskSecret => ({
  service,
  variable,
  store: 'ssm',
  id: parameter,
  named: parameter,
});

describe('which secrets are SSM parameters', () => {
  it("takes names and SSM ARNs (the parameter's name from the ARN), in manifest order", () => {
    const found = taskSecrets(
      [
        service('book-service', {
          DB: '/copilot/bookstore/test/secrets/db',
          API_KEY: 'plain-name',
          TOKEN: 'arn:aws:ssm:eu-west-1:111122223333:parameter/team/token',
          FLAT: 'arn:aws-cn:ssm:cn-north-1:111122223333:parameter/flat',
        }),
        service('author-service'),
        service('other', { X: '/x' }),
      ],
      WHERE,
      {},
    );
    expect(found).toEqual([
      {
        service: 'book-service',
        variable: 'DB',
        store: 'ssm',
        id: '/copilot/bookstore/test/secrets/db',
        named: '/copilot/bookstore/test/secrets/db',
      },
      {
        service: 'book-service',
        variable: 'API_KEY',
        store: 'ssm',
        id: 'plain-name',
        named: 'plain-name',
      },
      {
        service: 'book-service',
        variable: 'TOKEN',
        store: 'ssm',
        id: '/team/token',
        named: 'arn:aws:ssm:eu-west-1:111122223333:parameter/team/token',
        region: 'eu-west-1',
      },
      {
        service: 'book-service',
        variable: 'FLAT',
        store: 'ssm',
        id: 'flat',
        named: 'arn:aws-cn:ssm:cn-north-1:111122223333:parameter/flat',
        region: 'cn-north-1',
      },
      { service: 'other', variable: 'X', store: 'ssm', id: '/x', named: '/x' },
    ]);
  });

  it('takes Secrets Manager secrets by name and by ARN, without what ECS reads after them', () => {
    const found = taskSecrets(
      [
        service('svc', {
          A: { secretsmanager: 'db' },
          B: { secretsmanager: 'db:user::' },
          C: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf',
          D: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf:password:AWSCURRENT:',
          E: { secretsmanager: '${COPILOT_ENVIRONMENT_NAME}/db' },
        }),
      ],
      WHERE,
      {},
    );
    const about = { service: 'svc', store: 'secretsmanager' };
    expect(found).toEqual([
      { ...about, variable: 'A', id: 'db', named: 'db' },
      { ...about, variable: 'B', id: 'db', named: 'db:user::' },
      {
        ...about,
        variable: 'C',
        id: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf',
        named: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf',
        region: 'eu-west-1',
      },
      {
        ...about,
        variable: 'D',
        id: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf',
        named:
          'arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf:password:AWSCURRENT:',
        region: 'us-east-1',
      },
      { ...about, variable: 'E', id: 'test/db', named: 'test/db' },
    ]);
  });

  it("leaves exports and other services' ARNs to ECS, even ones Copilot cannot read", () => {
    const found = taskSecrets(
      [
        service('svc', {
          B: { from_cfn: 'stack-Export' },
          C: 'arn:aws:s3:::bucket/key',
          D: 'arn:aws:s3:::${UNSET}/key',
        }),
      ],
      WHERE,
      {},
    );
    expect(found).toEqual([]);
  });

  it('keeps an SSM ARN Copilot cannot read as an SSM parameter, its ${NAME} as written', () => {
    const named = 'arn:aws:ssm:${REGION}:1:parameter/db';
    const found = taskSecrets([service('svc', { A: named })], WHERE, {});
    expect(found).toEqual([
      {
        service: 'svc',
        variable: 'A',
        store: 'ssm',
        id: named,
        named,
        unreadable: 'environment variable "REGION" is not defined',
      },
    ]);
  });

  it('keeps a Secrets Manager name Copilot cannot read, as unreadable', () => {
    const found = taskSecrets(
      [service('svc', { A: { secretsmanager: '${UNSET}/db' } })],
      WHERE,
      {},
    );
    expect(found).toEqual([
      {
        service: 'svc',
        variable: 'A',
        store: 'secretsmanager',
        id: '${UNSET}/db',
        named: '${UNSET}/db',
        unreadable: 'environment variable "UNSET" is not defined',
      },
    ]);
  });

  // What `copilot secret init` suggests writing (secret_init.go, v1.33.2).
  it('reads each name as Copilot does, ${NAME} substituted for this deployment', () => {
    const found = taskSecrets(
      [
        service('svc', {
          A: '/copilot/${COPILOT_APPLICATION_NAME}/${COPILOT_ENVIRONMENT_NAME}/secrets/a',
          B: 'arn:aws:ssm:${REGION}:1:parameter/${TEAM}/b',
          C: '/${UNSET}/c',
        }),
      ],
      WHERE,
      { REGION: 'eu-west-1', TEAM: 'books' },
    );
    expect(found).toEqual([
      {
        service: 'svc',
        variable: 'A',
        store: 'ssm',
        id: '/copilot/bookstore/test/secrets/a',
        named: '/copilot/bookstore/test/secrets/a',
      },
      {
        service: 'svc',
        variable: 'B',
        store: 'ssm',
        id: '/books/b',
        named: 'arn:aws:ssm:eu-west-1:1:parameter/books/b',
        region: 'eu-west-1',
      },
      {
        service: 'svc',
        variable: 'C',
        store: 'ssm',
        id: '/${UNSET}/c',
        named: '/${UNSET}/c',
        unreadable: 'environment variable "UNSET" is not defined',
      },
    ]);
  });
});

describe('checkSecrets', () => {
  it('passes a parameter that exists with both tags, asking SSM by its name', async () => {
    const { ssm, asked } = ssmWith({ '/db': [...TAGGED, { Key: 'team', Value: 'x' }] });
    expect(await checkSecrets(readers(ssm), [secret('/db')], WHERE)).toEqual({
      problems: [],
      unchecked: [],
    });
    expect(asked).toEqual([{ ResourceType: 'Parameter', ResourceId: '/db' }]);
  });

  it('says which parameter does not exist, for which service and variable', async () => {
    const { ssm } = ssmWith({});
    expect(await checkSecrets(readers(ssm), [secret('/db')], WHERE)).toEqual({
      problems: ['book-service: secret DB_PASSWORD: SSM parameter /db does not exist in eu-west-1'],
      unchecked: [],
    });
  });

  it('names each tag Copilot reads it by that is missing or has another value', async () => {
    const { ssm } = ssmWith({
      '/none': [],
      '/other-env': [
        TAGGED[0] as { Key: string; Value: string },
        { Key: 'copilot-environment', Value: 'prod' },
      ],
      '/no-app': [TAGGED[1] as { Key: string; Value: string }],
      // The app's name under another key, and the application tag for another app.
      '/no-tag-list': null,
      '/app-elsewhere': [
        { Key: 'owner', Value: 'bookstore' },
        { Key: 'copilot-application', Value: 'shop' },
      ],
    });
    const secrets = [
      secret('/none', 'A'),
      secret('/other-env', 'B'),
      secret('/no-app', 'C'),
      secret('/app-elsewhere', 'D'),
      secret('/no-tag-list', 'E'),
    ];
    const why =
      "(Copilot's execution role reads only parameters tagged for this app and environment)";
    expect((await checkSecrets(readers(ssm), secrets, WHERE)).problems).toEqual([
      `book-service: secret A: SSM parameter /none lacks the tags copilot-application=bookstore, copilot-environment=test ${why}`,
      `book-service: secret B: SSM parameter /other-env lacks the tag copilot-environment=test (it has prod) ${why}`,
      `book-service: secret C: SSM parameter /no-app lacks the tag copilot-application=bookstore ${why}`,
      `book-service: secret D: SSM parameter /app-elsewhere lacks the tags copilot-application=bookstore (it has shop), copilot-environment=test ${why}`,
      `book-service: secret E: SSM parameter /no-tag-list lacks the tags copilot-application=bookstore, copilot-environment=test ${why}`,
    ]);
  });

  it('refuses a parameter of another region, without asking SSM', async () => {
    const { ssm, asked } = ssmWith({ '/t': TAGGED });
    const other = {
      ...secret('/t'),
      named: 'arn:aws:ssm:us-east-1:1:parameter/t',
      region: 'us-east-1',
    };
    expect((await checkSecrets(readers(ssm), [other], WHERE)).problems).toEqual([
      "book-service: secret DB_PASSWORD: SSM parameter arn:aws:ssm:us-east-1:1:parameter/t is in us-east-1; Copilot's execution role reads parameters of eu-west-1 only",
    ]);
    expect(asked).toEqual([]);
    const same = { ...other, region: 'eu-west-1' };
    expect((await checkSecrets(readers(ssm), [same], WHERE)).problems).toEqual([]);
    // The way forward: the parameter in the deploy's region (the manifest then names it there).
    const error = await cliErrorOf(
      requireSecrets(readers(ssm), [other], WHERE, { warn: () => {} }),
    );
    expect(error.next).toBe(
      'aws ssm put-parameter --region eu-west-1 --name /t --type SecureString --value <value> --tags Key=copilot-application,Value=bookstore Key=copilot-environment,Value=test',
    );
  });

  it('leaves unchecked what the deploy identity may not read, saying so', async () => {
    const denied = Object.assign(new Error('not authorized to perform ssm:ListTagsForResource'), {
      name: 'AccessDeniedException',
    });
    const { ssm } = ssmWith({ '/elsewhere': denied });
    expect(await checkSecrets(readers(ssm), [secret('/elsewhere')], WHERE)).toEqual({
      problems: [],
      unchecked: [
        'book-service: secret DB_PASSWORD: SSM parameter /elsewhere not checked (AccessDeniedException: not authorized to perform ssm:ListTagsForResource; the deploy role reads the tags of parameters under /copilot/bookstore/test/secrets/ only)',
      ],
    });
  });

  it('refuses a name Copilot cannot read, without asking SSM', async () => {
    const { ssm, asked } = ssmWith({});
    const unreadable = {
      ...secret('/${UNSET}/c'),
      unreadable: 'environment variable "UNSET" is not defined',
    };
    expect((await checkSecrets(readers(ssm), [unreadable], WHERE)).problems).toEqual([
      'book-service: secret DB_PASSWORD: SSM parameter /${UNSET}/c: environment variable "UNSET" is not defined (Copilot refuses the manifest)',
    ]);
    expect(asked).toEqual([]);
  });

  it('lets any other failure through, for the one error handler', async () => {
    const { ssm } = ssmWith({
      '/db': Object.assign(new Error('slow down'), { name: 'ThrottlingException' }),
    });
    await expect(checkSecrets(readers(ssm), [secret('/db')], WHERE)).rejects.toThrow('slow down');
  });
});

describe('requireSecrets', () => {
  const warnings: string[] = [];
  const log = { warn: (m: string) => warnings.push(m) };

  it('asks nothing when no deployed service names a secret', async () => {
    const { ssm, asked } = ssmWith({});
    await requireSecrets(readers(ssm), [], WHERE, log);
    expect(asked).toEqual([]);
  });

  it('stops the deploy before any change, naming every problem and the command that tags one', async () => {
    const { ssm } = ssmWith({ '/b': [] });
    const error = await cliErrorOf(
      requireSecrets(readers(ssm), [secret('/a', 'A'), secret('/b', 'B')], WHERE, log),
    );
    expect(error.what).toBe('deploy: 2 secrets the tasks could not read (nothing was changed)');
    expect(error.why.split('\n')).toEqual([
      'book-service: secret A: SSM parameter /a does not exist in eu-west-1',
      expect.stringMatching(/^book-service: secret B: SSM parameter \/b lacks the tags /),
    ]);
    expect(error.next).toBe(
      'aws ssm put-parameter --region eu-west-1 --name /a --type SecureString --value <value> --tags Key=copilot-application,Value=bookstore Key=copilot-environment,Value=test',
    );
  });

  it('gives the tagging command when every parameter exists', async () => {
    const { ssm } = ssmWith({ '/b': [] });
    const error = await cliErrorOf(requireSecrets(readers(ssm), [secret('/b', 'B')], WHERE, log));
    expect(error.what).toBe('deploy: 1 secret the tasks could not read (nothing was changed)');
    expect(error.next).toBe(
      'aws ssm add-tags-to-resource --region eu-west-1 --resource-type Parameter --resource-id /b --tags Key=copilot-application,Value=bookstore Key=copilot-environment,Value=test',
    );
  });

  it('warns of what it could not check, and goes on', async () => {
    warnings.length = 0;
    const denied = Object.assign(new Error('no'), { name: 'AccessDeniedException' });
    const { ssm } = ssmWith({ '/x': denied, '/ok': TAGGED });
    await requireSecrets(readers(ssm), [secret('/x'), secret('/ok')], WHERE, log);
    expect(warnings).toEqual([
      'book-service: secret DB_PASSWORD: SSM parameter /x not checked (AccessDeniedException: no; the deploy role reads the tags of parameters under /copilot/bookstore/test/secrets/ only)',
    ]);
  });
});

describe('secrets in Secrets Manager', () => {
  const warnings: string[] = [];
  const log = { warn: (m: string) => warnings.push(m) };
  const stored = (id: string, variable = 'DB_PASSWORD', region?: string): TaskSecret => ({
    service: 'book-service',
    variable,
    store: 'secretsmanager',
    id,
    named: id,
    ...(region ? { region } : {}),
  });
  const noSsm = ssmWith({}).ssm;

  it('passes a secret that exists with both tags, asking DescribeSecret by its name', async () => {
    const { secretsManager, asked } = secretsManagerWith({ 'test/db': TAGGED });
    const found = await checkSecrets(readers(noSsm, secretsManager), [stored('test/db')], WHERE);
    expect(found).toEqual({ problems: [], unchecked: [] });
    expect(asked).toEqual([{ SecretId: 'test/db' }]);
  });

  it('says which secret does not exist, is untagged or is being deleted, each with its fix', async () => {
    const deleted = new Date('2026-12-01T10:00:00Z');
    const { secretsManager } = secretsManagerWith({
      untagged: [{ Key: 'copilot-application', Value: 'bookstore' }],
      going: { deleted },
    });
    const secrets = [stored('absent', 'A'), stored('untagged', 'B'), stored('going', 'C')];
    const error = await cliErrorOf(
      requireSecrets(readers(noSsm, secretsManager), secrets, WHERE, log),
    );
    expect(error.why.split('\n')).toEqual([
      'book-service: secret A: Secrets Manager secret absent does not exist in eu-west-1',
      "book-service: secret B: Secrets Manager secret untagged lacks the tag copilot-environment=test (Copilot's execution role reads only secrets tagged for this app and environment)",
      'book-service: secret C: Secrets Manager secret going is scheduled for deletion (2026-12-01T10:00:00.000Z): no one can read it',
    ]);
    // A secret being deleted first: it cannot be created again under its name meanwhile.
    expect(error.next).toBe(
      'aws secretsmanager restore-secret --region eu-west-1 --secret-id going',
    );
  });

  it('gives the command that creates a missing secret, by the name in its ARN, tagged', async () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:db';
    const { secretsManager } = secretsManagerWith({ tagged: TAGGED });
    const secrets = [stored('tagged'), stored(arn, 'A', 'eu-west-1')];
    const error = await cliErrorOf(
      requireSecrets(readers(noSsm, secretsManager), secrets, WHERE, log),
    );
    expect(error.next).toBe(
      'aws secretsmanager create-secret --region eu-west-1 --name db --secret-string <value> --tags Key=copilot-application,Value=bookstore Key=copilot-environment,Value=test',
    );
  });

  it('gives the command that tags a secret when each one exists', async () => {
    const { secretsManager } = secretsManagerWith({ db: null });
    const error = await cliErrorOf(
      requireSecrets(readers(noSsm, secretsManager), [stored('db')], WHERE, log),
    );
    expect(error.why).toBe(
      "book-service: secret DB_PASSWORD: Secrets Manager secret db lacks the tags copilot-application=bookstore, copilot-environment=test (Copilot's execution role reads only secrets tagged for this app and environment)",
    );
    expect(error.next).toBe(
      'aws secretsmanager tag-resource --region eu-west-1 --secret-id db --tags Key=copilot-application,Value=bookstore Key=copilot-environment,Value=test',
    );
  });

  it('refuses an ARN of another region without asking, and warns of one it may not describe', async () => {
    warnings.length = 0;
    const elsewhere = 'arn:aws:secretsmanager:us-east-1:1:secret:db';
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    const { secretsManager, asked } = secretsManagerWith({ private: denied });
    const secrets = [stored(elsewhere, 'A', 'us-east-1'), stored('private', 'B')];
    const found = await checkSecrets(readers(noSsm, secretsManager), secrets, WHERE);
    expect(found).toEqual({
      problems: [
        `book-service: secret A: Secrets Manager secret ${elsewhere} is in us-east-1; Copilot's execution role reads secrets of eu-west-1 only`,
      ],
      unchecked: [
        'book-service: secret B: Secrets Manager secret private not checked (AccessDeniedException: not authorized; the deploy role describes only secrets tagged copilot-application=bookstore: if it ran this, the secret is missing or not tagged so, and the tasks cannot read it either)',
      ],
    });
    expect(asked).toEqual([{ SecretId: 'private' }]);
  });

  it('asks each store for its own secrets only', async () => {
    const { ssm, asked: ssmAsked } = ssmWith({ '/p': TAGGED });
    const { secretsManager, asked } = secretsManagerWith({ s: TAGGED });
    const secrets = [secret('/p'), stored('s')];
    expect(await checkSecrets(readers(ssm, secretsManager), secrets, WHERE)).toEqual({
      problems: [],
      unchecked: [],
    });
    expect(ssmAsked).toEqual([{ ResourceType: 'Parameter', ResourceId: '/p' }]);
    expect(asked).toEqual([{ SecretId: 's' }]);
  });
});
