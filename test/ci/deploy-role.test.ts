// iam/github-deploy-role.yml cannot be deployed from here, so its trust policy is evaluated as
// STS would evaluate it (test/ci/iam-policy.ts) against the tokens GitHub issues, and its
// permissions are checked against what the scripts call; each check also runs on mutants of
// the template, so none passes vacuously.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryTemplates } from '../../scripts/checks/templates.ts';
import { instantiate } from '../../scripts/workspace/http-api-settings.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { type CfnTemplate, loadTemplate } from '../../scripts/workspace/template.ts';
import { allowingStatements, allows, type Context, type PolicyDocument } from './iam-policy.ts';

const TEMPLATE = path.join(repoRoot, 'iam', 'github-deploy-role.yml');
const template = loadTemplate(TEMPLATE);

const REPO = 'octo-org/copilot-http-api';
const APP = 'bookstore';
const ENV = 'test';
const ACCOUNT = '111122223333';
const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
const parameters = { GitHubRepository: REPO, App: APP, Environment: ENV };

/** The template with the pseudo parameters of one account and region declared, so they resolve. */
function resolved(t: CfnTemplate, overrides: Record<string, string> = {}) {
  const copy = structuredClone(t);
  const pseudo = { 'AWS::Partition': 'aws', 'AWS::Region': 'eu-west-1', 'AWS::AccountId': ACCOUNT };
  for (const [name, value] of Object.entries(pseudo)) {
    copy.Parameters = { ...copy.Parameters, [name]: { Type: 'String', Default: value } };
  }
  return instantiate(copy, { ...parameters, ...overrides });
}

function trustPolicy(t: CfnTemplate, overrides: Record<string, string> = {}): PolicyDocument {
  return resolved(t, overrides).resources.DeployRole?.Properties
    .AssumeRolePolicyDocument as PolicyDocument;
}

function permissions(t: CfnTemplate): PolicyDocument {
  return resolved(t).resources.DeployPolicy?.Properties.PolicyDocument as PolicyDocument;
}

/** A GitHub Actions OIDC token's claims as IAM sees them (GitHub docs, "OpenID Connect"). */
const token = (sub: string, aud = 'sts.amazonaws.com'): Context => ({
  'token.actions.githubusercontent.com:sub': sub,
  'token.actions.githubusercontent.com:aud': aud,
});

/** Every token a repository's workflows can present, and whether the role must accept it. */
const TOKENS: { who: string; context: Context; accepted: boolean }[] = [
  {
    who: 'the deploy job in the environment',
    context: token(`repo:${REPO}:environment:${ENV}`),
    accepted: true,
  },
  { who: "a pull request's job", context: token(`repo:${REPO}:pull_request`), accepted: false },
  {
    who: 'a job on main without the environment',
    context: token(`repo:${REPO}:ref:refs/heads/main`),
    accepted: false,
  },
  {
    who: 'a job on another branch',
    context: token(`repo:${REPO}:ref:refs/heads/feature`),
    accepted: false,
  },
  { who: 'a tag push', context: token(`repo:${REPO}:ref:refs/tags/v1.0.0`), accepted: false },
  {
    who: 'another environment',
    context: token(`repo:${REPO}:environment:production`),
    accepted: false,
  },
  {
    who: 'another repository',
    context: token(`repo:octo-org/other:environment:${ENV}`),
    accepted: false,
  },
  {
    who: 'a fork-named repository',
    context: token(`repo:${REPO}-fork:environment:${ENV}`),
    accepted: false,
  },
  {
    who: 'the same names in another case',
    context: token(`repo:${REPO.toUpperCase()}:environment:${ENV}`),
    accepted: false,
  },
  {
    who: 'a token for another audience',
    context: token(`repo:${REPO}:environment:${ENV}`, 'api://other'),
    accepted: false,
  },
  {
    who: 'a token without an audience',
    context: { 'token.actions.githubusercontent.com:sub': `repo:${REPO}:environment:${ENV}` },
    accepted: false,
  },
];

/** The tokens the trust policy decides wrongly, as readable problems. */
function trustProblems(doc: PolicyDocument, federated: string): string[] {
  return TOKENS.flatMap(({ who, context, accepted }) => {
    const allowed = allows(doc, { action: 'sts:AssumeRoleWithWebIdentity', federated, context });
    if (allowed === accepted) return [];
    return [
      `${who} (${context['token.actions.githubusercontent.com:sub']}): ${allowed ? 'accepted' : 'refused'}`,
    ];
  });
}

function mutant(change: (trust: Record<string, unknown>, t: CfnTemplate) => void): CfnTemplate {
  const copy = structuredClone(template);
  const role = copy.Resources.DeployRole?.Properties as Record<string, unknown>;
  const trust = role.AssumeRolePolicyDocument as { Statement: Record<string, unknown>[] };
  change(trust.Statement[0] as Record<string, unknown>, copy);
  return copy;
}

describe('the deploy role trusts only the deploy job of this repository', () => {
  it("accepts the environment's token and refuses every other one", () => {
    expect(
      trustProblems(trustPolicy(template, { ExistingOidcProviderArn: PROVIDER }), PROVIDER),
    ).toEqual([]);
  });

  it('trusts the provider it creates, or the existing one it is given', () => {
    const created = trustPolicy(template).Statement[0]?.Principal?.Federated;
    expect(created).toEqual({ unresolved: 'Ref GitHubOidcProvider' });
    expect(Object.keys(resolved(template).resources)).toContain('GitHubOidcProvider');
    const reused = resolved(template, { ExistingOidcProviderArn: PROVIDER });
    expect(Object.keys(reused.resources)).not.toContain('GitHubOidcProvider');
    expect(
      trustPolicy(template, { ExistingOidcProviderArn: PROVIDER }).Statement[0]?.Principal,
    ).toEqual({ Federated: PROVIDER });
    expect(
      trustProblems(
        trustPolicy(template, { ExistingOidcProviderArn: PROVIDER }),
        `${PROVIDER}-other`,
      ),
    ).toContain(`the deploy job in the environment (repo:${REPO}:environment:${ENV}): refused`);
  });

  it('creates a provider for the audience configure-aws-credentials asks for', () => {
    expect(resolved(template).resources.GitHubOidcProvider?.Properties).toEqual({
      Url: 'https://token.actions.githubusercontent.com',
      ClientIdList: ['sts.amazonaws.com'],
    });
  });

  const sub = 'token.actions.githubusercontent.com:sub';
  const conditions = (s: Record<string, unknown>) =>
    s.Condition as Record<string, Record<string, unknown>>;

  it('a mutant that trusts every subject of the repository accepts pull requests', () => {
    const wide = mutant((s) => {
      const c = conditions(s);
      delete c.StringEquals?.[sub];
      c.StringLike = { [sub]: { 'Fn::Sub': 'repo:${GitHubRepository}:*' } };
    });
    expect(
      trustProblems(trustPolicy(wide, { ExistingOidcProviderArn: PROVIDER }), PROVIDER),
    ).toEqual(
      expect.arrayContaining([expect.stringMatching(/^a pull request's job .*: accepted$/)]),
    );
  });

  it('a mutant that trusts the branch instead of the environment refuses the deploy job', () => {
    const branch = mutant((s) => {
      const c = conditions(s);
      if (c.StringEquals)
        c.StringEquals[sub] = { 'Fn::Sub': 'repo:${GitHubRepository}:ref:refs/heads/main' };
    });
    expect(
      trustProblems(trustPolicy(branch, { ExistingOidcProviderArn: PROVIDER }), PROVIDER),
    ).toEqual([
      `the deploy job in the environment (repo:${REPO}:environment:${ENV}): refused`,
      `a job on main without the environment (repo:${REPO}:ref:refs/heads/main): accepted`,
    ]);
  });

  it('a mutant without the audience condition accepts tokens minted for others', () => {
    const noAudience = mutant((s) => {
      delete conditions(s).StringEquals?.['token.actions.githubusercontent.com:aud'];
    });
    expect(
      trustProblems(trustPolicy(noAudience, { ExistingOidcProviderArn: PROVIDER }), PROVIDER),
    ).toEqual([
      expect.stringMatching(/^a token for another audience .*: accepted$/),
      expect.stringMatching(/^a token without an audience .*: accepted$/),
    ]);
  });

  it('a mutant with a wildcard environment accepts every environment', () => {
    const anyEnv = mutant((s) => {
      const c = conditions(s);
      delete c.StringEquals?.[sub];
      c.StringLike = { [sub]: { 'Fn::Sub': 'repo:${GitHubRepository}:environment:*' } };
    });
    expect(
      trustProblems(trustPolicy(anyEnv, { ExistingOidcProviderArn: PROVIDER }), PROVIDER),
    ).toEqual([expect.stringMatching(/^another environment .*: accepted$/)]);
  });
});

// What the Service Authorization Reference lists with no resource type: these take Resource "*".
const ACTIONS_WITHOUT_RESOURCE_TYPES = new Set([
  'ecr:GetAuthorizationToken',
  'ec2:DescribeSecurityGroupRules',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSubnets',
  'ec2:DescribeVpcs',
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeRules',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetHealth',
  'logs:DescribeLogGroups',
  'logs:CreateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:DescribeResourcePolicies',
  'logs:GetLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:UpdateLogDelivery',
]);

// A resource the app names: <app>-..., /<app>/..., or ending in /<app>.
const NAMES_APP = new RegExp(`[/-]${APP}(-|/|$)`);

// API Gateway names APIs and VPC links by generated ids, never by the app: reading them
// (diagnose.ts: GetVpcLink, GetIntegrations) cannot be bounded by name.
const READS_OF_UNNAMED_RESOURCES = new Set(['apigateway:GET']);

const list = (v: string | string[] | undefined) => (v === undefined ? [] : [v].flat());

/** Where a statement is broader than the application and environment it is for. */
function boundProblems(doc: PolicyDocument): string[] {
  return doc.Statement.flatMap((s) => {
    const where = s.Sid ?? JSON.stringify(s.Action);
    const actions = list(s.Action);
    const resources = list(s.Resource);
    const problems = actions
      .filter((a) => a.includes('*'))
      .map((a) => `${where}: wildcard action ${a}`);
    if (resources.includes('*')) {
      const unbounded = actions.filter((a) => !ACTIONS_WITHOUT_RESOURCE_TYPES.has(a));
      if (unbounded.length > 0) problems.push(`${where}: Resource "*" for ${unbounded.join(', ')}`);
    } else if (!s.Condition && !actions.every((a) => READS_OF_UNNAMED_RESOURCES.has(a))) {
      const unnamed = resources.filter((r) => !NAMES_APP.test(r));
      if (unnamed.length > 0) {
        problems.push(`${where}: ${unnamed.join(', ')} names no app, and no condition bounds it`);
      }
    }
    if (actions.some((a) => a.startsWith('iam:') && a !== 'iam:CreateServiceLinkedRole')) {
      problems.push(`${where}: IAM actions (${actions.join(', ')})`);
    }
    return problems;
  });
}

describe("the deploy role's permissions", () => {
  it('name the app and environment, or say why they cannot', () => {
    expect(boundProblems(permissions(template))).toEqual([]);
  });

  it("assume only this environment's Copilot manager role", () => {
    const doc = permissions(template);
    const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
    const assume = (name: string) =>
      allows(doc, { action: 'sts:AssumeRole', resource: role(name), context: {} });
    expect(assume(`${APP}-${ENV}-EnvManagerRole`)).toBe(true);
    expect(assume(`${APP}-production-EnvManagerRole`)).toBe(false);
    expect(assume(`${APP}-${ENV}-CFNExecutionRole`)).toBe(false);
    expect(assume(`other-${ENV}-EnvManagerRole`)).toBe(false);
  });

  it('create HTTP API resources only through CloudFormation', () => {
    const doc = permissions(template);
    const api = 'arn:aws:apigateway:eu-west-1::/apis';
    const viaCfn = { 'aws:CalledVia': ['cloudformation.amazonaws.com'] };
    expect(allows(doc, { action: 'apigateway:POST', resource: api, context: viaCfn })).toBe(true);
    expect(allows(doc, { action: 'apigateway:POST', resource: api, context: {} })).toBe(false);
    expect(allows(doc, { action: 'apigateway:DELETE', resource: `${api}/abc`, context: {} })).toBe(
      false,
    );
    // Reading them is allowed directly: diagnose.ts does.
    expect(allows(doc, { action: 'apigateway:GET', resource: `${api}/abc`, context: {} })).toBe(
      true,
    );
  });

  it('describe only the Secrets Manager secrets tagged for the app, as its tasks read them', () => {
    const doc = permissions(template);
    const secret = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:db-AbCdEf`;
    const describe = (tags: Record<string, string>, resource = secret) =>
      allows(doc, { action: 'secretsmanager:DescribeSecret', resource, context: tags });
    const tagged = { 'secretsmanager:ResourceTag/copilot-application': APP };
    expect(describe(tagged)).toBe(true);
    expect(describe({ 'secretsmanager:ResourceTag/copilot-application': 'other' })).toBe(false);
    expect(describe({})).toBe(false);
    expect(describe(tagged, `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:db`)).toBe(false);
    const value = { action: 'secretsmanager:GetSecretValue', resource: secret, context: tagged };
    expect(allows(doc, value)).toBe(false);
  });

  it('list the Copilot applications one level deep only', () => {
    const doc = permissions(template);
    const root = `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/copilot/applications/`;
    const list = (recursive: string) =>
      allows(doc, {
        action: 'ssm:GetParametersByPath',
        resource: root,
        context: { 'ssm:Recursive': recursive },
      });
    expect(list('OneLevel')).toBe(true);
    expect(list('Recursive')).toBe(false);
    const other = `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/copilot/applications/other/environments/`;
    expect(allows(doc, { action: 'ssm:GetParameter', resource: other, context: {} })).toBe(false);
  });

  it('a mutant without the CloudFormation-only condition, or with a wildcard, is reported', () => {
    const statements = (t: CfnTemplate) => {
      const document = t.Resources.DeployPolicy?.Properties?.PolicyDocument as
        | { Statement: Record<string, unknown>[] }
        | undefined;
      if (document === undefined) throw new Error('the template has no DeployPolicy document');
      return document.Statement;
    };
    const direct = structuredClone(template);
    for (const s of statements(direct))
      if (s.Sid === 'HttpApiStackResourcesThroughCloudFormation') delete s.Condition;
    expect(boundProblems(permissions(direct))).toEqual([
      expect.stringMatching(
        /^HttpApiStackResourcesThroughCloudFormation: arn:aws:apigateway:eu-west-1::\/apis, .* names no app, and no condition bounds it$/,
      ),
    ]);
    const wide = structuredClone(template);
    statements(wide).push({ Sid: 'Wide', Effect: 'Allow', Action: 'ecs:*', Resource: '*' });
    expect(boundProblems(permissions(wide))).toEqual([
      'Wide: wildcard action ecs:*',
      'Wide: Resource "*" for ecs:*',
    ]);
  });
});

/** The service prefix in IAM of each AWS SDK client the scripts use. */
const IAM_PREFIX: Record<string, string> = {
  'client-cloudformation': 'cloudformation',
  'client-ecs': 'ecs',
  'client-cloudwatch-logs': 'logs',
  'client-ec2': 'ec2',
  'client-elastic-load-balancing-v2': 'elasticloadbalancing',
  'client-ssm': 'ssm',
  'client-sts': 'sts',
  'client-apigatewayv2': 'apigateway',
};
// Set apart: the secret scan (npm run check:secrets) reads `secret...: '<14 characters>'` as one.
IAM_PREFIX['client-secrets-manager'] = 'secretsmanager';

// Needs no permission (STS documents GetCallerIdentity as always allowed); and the bastion's
// SSM Run Command (smoke.ts --from-bastion), which the CI deploy does not run.
const NOT_IN_CI = new Set(['sts:GetCallerIdentity', 'ssm:SendCommand', 'ssm:GetCommandInvocation']);

/** The IAM action of every SDK command the deploy, smoke and diagnose code sends. */
function actionsTheScriptsCall(): string[] {
  const dirs = ['scripts/cloud', 'scripts/checks'];
  const actions = dirs.flatMap((dir) =>
    readdirSync(path.join(repoRoot, dir))
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => {
        const text = readFileSync(path.join(repoRoot, dir, f), 'utf8');
        return [...text.matchAll(/import \{([^}]+)\} from '@aws-sdk\/([\w-]+)'/g)].flatMap(
          ([, names, client]) =>
            (names ?? '')
              .split(',')
              .map((n) => n.trim().replace(/^type /, ''))
              .filter((n) => n.endsWith('Command'))
              .map((n) => {
                const prefix = IAM_PREFIX[client ?? ''] ?? `unknown client ${client}`;
                const op = n.slice(0, -'Command'.length);
                // API Gateway's IAM actions are HTTP methods: GetVpcLink is apigateway:GET.
                return prefix === 'apigateway'
                  ? `apigateway:${op.startsWith('Get') ? 'GET' : op}`
                  : `${prefix}:${op}`;
              }),
        );
      }),
  );
  return [...new Set(actions)].filter((a) => !NOT_IN_CI.has(a)).sort();
}

describe('what the scripts call', () => {
  it('is allowed by some statement, the CloudFormation-only ones aside', () => {
    const doc = permissions(template);
    const called = actionsTheScriptsCall();
    expect(called.length).toBeGreaterThan(15);
    const unallowed = called.filter(
      (action) =>
        !doc.Statement.some(
          (s) => !s.Condition?.['ForAnyValue:StringEquals'] && list(s.Action).includes(action),
        ),
    );
    expect(unallowed).toEqual([]);
  });

  it('would report an action the policy lacks', () => {
    const doc = permissions(template);
    const trimmed = { Statement: doc.Statement.filter((s) => s.Sid !== 'ReadTheEnvironmentsLogs') };
    const unallowed = actionsTheScriptsCall().filter(
      (a) => !trimmed.Statement.some((s) => list(s.Action).includes(a)),
    );
    expect(unallowed).toEqual([
      'logs:DescribeLogStreams',
      'logs:FilterLogEvents',
      'logs:GetLogEvents',
    ]);
  });
});

it('allowingStatements names the statement that grants a request', () => {
  const doc = permissions(template);
  const push = allowingStatements(doc, {
    action: 'ecr:PutImage',
    resource: `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/${APP}/book-service`,
    context: {},
  });
  expect(push.map((s) => s.Sid)).toEqual(['CopilotPushesServiceImages']);
});

// cfn-lint and cfn-guard over it: deploy-role-tools.slow.test.ts.
describe('validated like the addons', () => {
  it('is one of the templates npm run lint validates', () => {
    expect(repositoryTemplates()).toContain(TEMPLATE);
  });
});
