// Deploy's check of the SSM parameters a service's `secrets:` names (scripts/cloud/secret-check.ts),
// against an SSM double answering ListTagsForResource as the SSM API reference documents it (the
// parameter's tags, or InvalidResourceId for a parameter that does not exist; AccessDenied for a
// caller the policy does not allow). Copilot's execution role reads a parameter only when it is in
// the deploy's account and region and tagged copilot-application=<app> and
// copilot-environment=<env> (workloads/partials/cf/executionrole.yml, v1.33.2): a task started
// without one fails with ResourceInitializationError, after the deploy has waited for it.
import type { ListTagsForResourceCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import {
  checkSsmSecrets,
  requireSsmSecrets,
  type SsmSecret,
  ssmSecrets,
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

const secret = (
  parameter: string,
  variable = 'DB_PASSWORD',
  service = 'book-service',
): SsmSecret => ({
  service,
  variable,
  parameter,
  named: parameter,
});

describe('which secrets are SSM parameters', () => {
  it("takes names and SSM ARNs (the parameter's name from the ARN), in manifest order", () => {
    const found = ssmSecrets(
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
        parameter: '/copilot/bookstore/test/secrets/db',
        named: '/copilot/bookstore/test/secrets/db',
      },
      {
        service: 'book-service',
        variable: 'API_KEY',
        parameter: 'plain-name',
        named: 'plain-name',
      },
      {
        service: 'book-service',
        variable: 'TOKEN',
        parameter: '/team/token',
        named: 'arn:aws:ssm:eu-west-1:111122223333:parameter/team/token',
        region: 'eu-west-1',
      },
      {
        service: 'book-service',
        variable: 'FLAT',
        parameter: 'flat',
        named: 'arn:aws-cn:ssm:cn-north-1:111122223333:parameter/flat',
        region: 'cn-north-1',
      },
      { service: 'other', variable: 'X', parameter: '/x', named: '/x' },
    ]);
  });

  it('leaves Secrets Manager secrets and exports to ECS (not SSM parameters)', () => {
    const found = ssmSecrets(
      [
        service('svc', {
          A: { secretsmanager: 'db' },
          B: { from_cfn: 'stack-Export' },
          C: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf',
        }),
      ],
      WHERE,
      {},
    );
    expect(found).toEqual([]);
  });

  // What `copilot secret init` suggests writing (secret_init.go, v1.33.2).
  it('reads each name as Copilot does, ${NAME} substituted for this deployment', () => {
    const found = ssmSecrets(
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
        parameter: '/copilot/bookstore/test/secrets/a',
        named: '/copilot/bookstore/test/secrets/a',
      },
      {
        service: 'svc',
        variable: 'B',
        parameter: '/books/b',
        named: 'arn:aws:ssm:eu-west-1:1:parameter/books/b',
        region: 'eu-west-1',
      },
      {
        service: 'svc',
        variable: 'C',
        parameter: '/${UNSET}/c',
        named: '/${UNSET}/c',
        unreadable: 'environment variable "UNSET" is not defined',
      },
    ]);
  });
});

describe('checkSsmSecrets', () => {
  it('passes a parameter that exists with both tags, asking SSM by its name', async () => {
    const { ssm, asked } = ssmWith({ '/db': [...TAGGED, { Key: 'team', Value: 'x' }] });
    expect(await checkSsmSecrets(ssm, [secret('/db')], WHERE)).toEqual({
      problems: [],
      unchecked: [],
    });
    expect(asked).toEqual([{ ResourceType: 'Parameter', ResourceId: '/db' }]);
  });

  it('says which parameter does not exist, for which service and variable', async () => {
    const { ssm } = ssmWith({});
    expect(await checkSsmSecrets(ssm, [secret('/db')], WHERE)).toEqual({
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
    expect((await checkSsmSecrets(ssm, secrets, WHERE)).problems).toEqual([
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
    expect((await checkSsmSecrets(ssm, [other], WHERE)).problems).toEqual([
      "book-service: secret DB_PASSWORD: SSM parameter arn:aws:ssm:us-east-1:1:parameter/t is in us-east-1; Copilot's execution role reads parameters of eu-west-1 only",
    ]);
    expect(asked).toEqual([]);
    const same = { ...other, region: 'eu-west-1' };
    expect((await checkSsmSecrets(ssm, [same], WHERE)).problems).toEqual([]);
  });

  it('leaves unchecked what the deploy identity may not read, saying so', async () => {
    const denied = Object.assign(new Error('not authorized to perform ssm:ListTagsForResource'), {
      name: 'AccessDeniedException',
    });
    const { ssm } = ssmWith({ '/elsewhere': denied });
    expect(await checkSsmSecrets(ssm, [secret('/elsewhere')], WHERE)).toEqual({
      problems: [],
      unchecked: [
        'book-service: secret DB_PASSWORD: SSM parameter /elsewhere not checked (AccessDeniedException: not authorized to perform ssm:ListTagsForResource)',
      ],
    });
  });

  it('refuses a name Copilot cannot read, without asking SSM', async () => {
    const { ssm, asked } = ssmWith({});
    const unreadable = {
      ...secret('/${UNSET}/c'),
      unreadable: 'environment variable "UNSET" is not defined',
    };
    expect((await checkSsmSecrets(ssm, [unreadable], WHERE)).problems).toEqual([
      'book-service: secret DB_PASSWORD: SSM parameter /${UNSET}/c: environment variable "UNSET" is not defined (Copilot refuses the manifest)',
    ]);
    expect(asked).toEqual([]);
  });

  it('lets any other failure through, for the one error handler', async () => {
    const { ssm } = ssmWith({
      '/db': Object.assign(new Error('slow down'), { name: 'ThrottlingException' }),
    });
    await expect(checkSsmSecrets(ssm, [secret('/db')], WHERE)).rejects.toThrow('slow down');
  });
});

describe('requireSsmSecrets', () => {
  const warnings: string[] = [];
  const log = { warn: (m: string) => warnings.push(m) };

  it('asks nothing when no deployed service names an SSM secret', async () => {
    const { ssm, asked } = ssmWith({});
    await requireSsmSecrets(ssm, [], WHERE, log);
    expect(asked).toEqual([]);
  });

  it('stops the deploy before any change, naming every problem and the command that tags one', async () => {
    const { ssm } = ssmWith({ '/b': [] });
    const error = await cliErrorOf(
      requireSsmSecrets(ssm, [secret('/a', 'A'), secret('/b', 'B')], WHERE, log),
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
    const error = await cliErrorOf(requireSsmSecrets(ssm, [secret('/b', 'B')], WHERE, log));
    expect(error.what).toBe('deploy: 1 secret the tasks could not read (nothing was changed)');
    expect(error.next).toBe(
      'aws ssm add-tags-to-resource --region eu-west-1 --resource-type Parameter --resource-id /b --tags Key=copilot-application,Value=bookstore Key=copilot-environment,Value=test',
    );
  });

  it('warns of what it could not check, and goes on', async () => {
    warnings.length = 0;
    const denied = Object.assign(new Error('no'), { name: 'AccessDeniedException' });
    const { ssm } = ssmWith({ '/x': denied, '/ok': TAGGED });
    await requireSsmSecrets(ssm, [secret('/x'), secret('/ok')], WHERE, log);
    expect(warnings).toEqual([
      'book-service: secret DB_PASSWORD: SSM parameter /x not checked (AccessDeniedException: no)',
    ]);
  });
});
