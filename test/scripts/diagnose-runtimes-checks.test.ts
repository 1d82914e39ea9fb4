// diagnose's Lambda runtime checks (scripts/checks/diagnose-runtimes.ts) against mocked
// CloudFormation: a stack not deployed gets no check; the environment's functions are fixed in
// the environment's patch file and redeployed with --only env; every function CloudFormation can
// no longer update is named, and none when only deprecated; with no runtime left to recommend the
// hint says so instead of naming one.
import {
  CloudFormationClient,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runtimeChecks } from '../../scripts/checks/diagnose-runtimes.ts';
import { invocation } from '../../scripts/cli/command.ts';
import { recommendedRuntime } from '../../scripts/cloud/lambda-runtimes.ts';

const cfn = mockClient(CloudFormationClient);
// The mock replaces the client's send for the whole worker (vitest isolate: false): put it back.
afterAll(() => cfn.restore());
afterEach(() => cfn.reset());

const ENV = 'bookstore-test';
const SERVICE = 'bookstore-test-book-service';
const ctx = (today: string) => ({
  app: 'bookstore',
  env: 'test',
  services: [{ name: 'book-service' }, { name: 'author-service' }],
  today,
});

/** Deployed stacks with their functions' runtimes; any other stack does not exist. */
function deployed(stacks: Record<string, Record<string, string>>) {
  cfn.on(DescribeStacksCommand).callsFake(async ({ StackName }: { StackName: string }) => {
    if (!stacks[StackName]) {
      throw Object.assign(new Error(`Stack with id ${StackName} does not exist`), {
        name: 'ValidationError',
      });
    }
    return { Stacks: [{ StackName, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date() }] };
  });
  cfn.on(DescribeStackResourcesCommand).callsFake(async ({ StackName }: { StackName: string }) => ({
    StackResources: Object.keys(stacks[StackName] ?? {}).map((fn) => ({
      LogicalResourceId: fn,
      ResourceType: 'AWS::Lambda::Function',
      ResourceStatus: 'CREATE_COMPLETE',
      Timestamp: new Date(),
    })),
  }));
  cfn.on(GetTemplateCommand).callsFake(async ({ StackName }: { StackName: string }) => ({
    TemplateBody: JSON.stringify({
      Resources: Object.fromEntries(
        Object.entries(stacks[StackName] ?? {}).map(([fn, Runtime]) => [
          fn,
          { Type: 'AWS::Lambda::Function', Properties: { Runtime } },
        ]),
      ),
    }),
  }));
}

describe("diagnose's Lambda runtime checks", () => {
  it('fix the environment in its patch file with --only env, naming each function CloudFormation cannot update', async () => {
    // 2027-01-15: nodejs20.x's updates are blocked (since 2026-09-30).
    deployed({
      [ENV]: { DNSDelegationFunction: 'nodejs20.x', CustomDomainFunction: 'nodejs20.x' },
    });
    const checks = await runtimeChecks(new CloudFormationClient({}), ctx('2027-01-15'));
    // Only the environment is deployed: the services get no check, and are not asked about.
    expect(checks.map((c) => c.name)).toEqual([`Lambda runtimes of ${ENV}`]);
    expect(cfn.commandCalls(DescribeStackResourcesCommand)).toHaveLength(1);
    const [found] = checks;
    expect(found?.verdict).toBe('WARN');
    expect(found?.detail).toMatch(
      /: CloudFormation can no longer update DNSDelegationFunction, CustomDomainFunction$/,
    );
    expect(found?.hint).toBe(
      `set ${recommendedRuntime('2027-01-15')} for DNSDelegationFunction, CustomDomainFunction in copilot/environments/overrides/cfn.patches.yml (npm run check:runtimes), then ${invocation('deploy')} --env test --only env`,
    );
  });

  it('name no function as blocked when the runtimes are only deprecated', async () => {
    // 2027-05-15: nodejs22.x is deprecated (since 2027-04-30), still updatable.
    deployed({ [ENV]: {}, [SERVICE]: { EnvControllerFunction: 'nodejs22.x' } });
    const checks = await runtimeChecks(new CloudFormationClient({}), ctx('2027-05-15'));
    expect(checks.map((c) => [c.name, c.verdict])).toEqual([
      [`Lambda runtimes of ${ENV}`, 'OK'],
      [`Lambda runtimes of ${SERVICE}`, 'WARN'],
    ]);
    expect(checks[1]?.detail).toBe(
      'EnvControllerFunction nodejs22.x; EnvControllerFunction nodejs22.x: deprecated since 2027-04-30; function create blocked from 2027-06-01, update from 2027-07-01',
    );
    expect(checks[1]?.hint).toMatch(
      /in copilot\/book-service\/overrides\/cfn\.patches\.yml .* --only services --service book-service$/,
    );
  });

  it('ask for a supported runtime when the table has none left to recommend', async () => {
    const day = '2028-07-15';
    expect(recommendedRuntime(day)).toBeUndefined();
    deployed({ [SERVICE]: { EnvControllerFunction: 'nodejs24.x' } });
    const [found] = await runtimeChecks(new CloudFormationClient({}), ctx(day));
    expect(found?.hint).toMatch(/^set a supported runtime for EnvControllerFunction in /);
  });
});
