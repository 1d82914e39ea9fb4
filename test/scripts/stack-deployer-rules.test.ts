// The stack deployer (scripts/cloud/stack-deployer.ts) as a user meets it, in this process:
// CloudFormation is a scripted double (aws-sdk-client-mock) and every wait runs on vitest's fake
// clock, so no test sleeps and none depends on how fast the machine is. It checks each path a user
// sees: a CREATE change set for a new stack (or one left in REVIEW_IN_PROGRESS), an UPDATE one for
// an existing stack, with the parameters, tags and capabilities asked for and the changes printed
// before they run; "no changes" (a FAILED change set that says so, a rejected request, an empty
// change set) as success without executing anything; a change set that failed or was rejected for
// another reason; an execution refused; the wait that streams each new event once, oldest first;
// a rollback reported with the failed resources' own reasons (cancellations and the stack's own
// event left out); a stack left in ROLLBACK_COMPLETE deleted and created again; a stack that must
// be repaired by hand refused; a stack still busy from another run waited for first; every wait
// ending at its deadline with the state it was in and what to do next; and deleteStack,
// stackOutputs and isSuccess on their own.
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  type CreateChangeSetCommandInput,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  type DescribeChangeSetCommandOutput,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProgress } from '../../scripts/cli/command.ts';
import {
  deleteStack,
  deployStack,
  isSuccess,
  outputsOf,
  StackDeployError,
  stackOutputs,
} from '../../scripts/cloud/stack-deployer.ts';
import { WaitTimeoutError } from '../../scripts/cloud/wait.ts';

const cfn = mockClient(CloudFormationClient);
// The mock replaces the client's send for the whole worker (vitest isolate: false): put it back.
afterAll(() => {
  cfn.restore();
});

const NAME = 'bookstore-test-http-api';
const STACK_ID = `arn:aws:cloudformation:us-east-1:1:stack/${NAME}/abc`;
const START = new Date('2026-12-06T10:20:30.456Z');
const CHANGE_SET = `deploy-20261206102030456-${process.pid}`;

const missing = () =>
  Object.assign(new Error(`Stack with id ${NAME} does not exist`), { name: 'ValidationError' });

type Answer = Stack | 'missing' | Error;
interface Phase {
  /** Successive DescribeStacks answers; the last one repeats. */
  stacks: Answer[];
  /** Successive DescribeStackEvents answers (newest first, as the API answers); the last repeats. */
  events?: (StackEvent[] | Error)[];
}

const stack = (StackStatus: string, more: Partial<Stack> = {}): Stack => ({
  StackName: NAME,
  StackId: STACK_ID,
  StackStatus: StackStatus as Stack['StackStatus'],
  CreationTime: START,
  ...more,
});

let seq = 0;
const event = (
  LogicalResourceId: string,
  ResourceType: string,
  ResourceStatus: string,
  ResourceStatusReason?: string,
  seconds = 0,
): StackEvent => ({
  EventId: `e${++seq}`,
  StackId: STACK_ID,
  StackName: NAME,
  LogicalResourceId,
  ResourceType,
  ResourceStatus: ResourceStatus as StackEvent['ResourceStatus'],
  ...(ResourceStatusReason ? { ResourceStatusReason } : {}),
  Timestamp: new Date(START.getTime() + seconds * 1_000),
});
/** The API's answer when `oldestFirst` have happened: newest first. */
const answer = (...oldestFirst: StackEvent[]) => [...oldestFirst].reverse();

const addFirst = {
  ResourceChange: {
    Action: 'Add' as const,
    LogicalResourceId: 'First',
    ResourceType: 'AWS::SSM::Parameter',
  },
};
const COMPLETE_CHANGE_SET: DescribeChangeSetCommandOutput = {
  $metadata: {},
  Status: 'CREATE_COMPLETE',
  Changes: [addFirst],
};

/**
 * CloudFormation as a deploy meets it: the stack's answers before anything runs, while a stack
 * left in ROLLBACK_COMPLETE is deleted, and after the change set is executed; the change set's
 * successive answers; and every request recorded.
 */
function world(w: {
  start: Phase;
  deleting?: Phase;
  executed?: Phase;
  changeSet?: (DescribeChangeSetCommandOutput | Error)[];
  create?: Error;
  execute?: Error;
  deleteChangeSet?: Error;
}) {
  let phase: Phase = w.start;
  const changeSets = [...(w.changeSet ?? [COMPLETE_CHANGE_SET])];
  const created: CreateChangeSetCommandInput[] = [];
  const calls: string[] = [];
  const next = <T>(queue: T[]): T => (queue.length > 1 ? (queue.shift() as T) : (queue[0] as T));
  cfn.on(DescribeStacksCommand).callsFake(async () => {
    calls.push('DescribeStacks');
    const a = next(phase.stacks);
    if (a === 'missing') throw missing();
    if (a instanceof Error) throw a;
    return { Stacks: [a] };
  });
  cfn.on(DescribeStackEventsCommand).callsFake(async () => {
    calls.push('DescribeStackEvents');
    const a = next(phase.events ?? [[]]);
    if (a instanceof Error) throw a;
    return { StackEvents: a };
  });
  cfn.on(CreateChangeSetCommand).callsFake(async (input: CreateChangeSetCommandInput) => {
    calls.push(`CreateChangeSet ${input.ChangeSetType} ${input.StackName} ${input.ChangeSetName}`);
    created.push(input);
    if (w.create) throw w.create;
    return { Id: 'cs' };
  });
  cfn
    .on(DescribeChangeSetCommand)
    .callsFake(async (input: { StackName: string; ChangeSetName: string }) => {
      calls.push(`DescribeChangeSet ${input.StackName} ${input.ChangeSetName}`);
      const a = next(changeSets);
      if (a instanceof Error) throw a;
      return a;
    });
  cfn
    .on(DeleteChangeSetCommand)
    .callsFake(async (input: { StackName: string; ChangeSetName: string }) => {
      calls.push(`DeleteChangeSet ${input.StackName} ${input.ChangeSetName}`);
      if (w.deleteChangeSet) throw w.deleteChangeSet;
      return {};
    });
  cfn
    .on(ExecuteChangeSetCommand)
    .callsFake(async (input: { StackName: string; ChangeSetName: string }) => {
      calls.push(`ExecuteChangeSet ${input.StackName} ${input.ChangeSetName}`);
      if (w.execute) throw w.execute;
      phase = w.executed ?? phase;
      return {};
    });
  cfn.on(DeleteStackCommand).callsFake(async (input: { StackName: string }) => {
    calls.push(`DeleteStack ${input.StackName}`);
    phase = w.deleting ?? phase;
    return {};
  });
  return { created, calls };
}

let lines: string[] = [];
const log = createProgress('deploy', (l) => {
  lines.push(l.trimEnd());
});
const printed = () => lines.join('\n');

beforeEach(() => {
  cfn.reset();
  lines = [];
  seq = 0;
  vi.useFakeTimers({ now: START, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
  cfn.reset();
});

interface Outcome<T> {
  value?: T;
  error?: unknown;
  /** Milliseconds on the fake clock from the call to its end. */
  took: number;
}

/** Runs `start` to its end, moving the fake clock from one pending timer to the next. */
async function outcome<T>(start: () => Promise<T>): Promise<Outcome<T>> {
  const from = Date.now();
  let result: Outcome<T> | undefined;
  start().then(
    (value) => {
      result = { value, took: Date.now() - from };
    },
    (error: unknown) => {
      result = { error, took: Date.now() - from };
    },
  );
  for (let i = 0; i < 2_000 && !result; i++) await vi.advanceTimersToNextTimerAsync();
  if (!result) throw new Error('still waiting after 2000 timers: a wait without an end');
  return result;
}

const deploy = (over: Partial<Parameters<typeof deployStack>[0]> = {}) =>
  outcome(() =>
    deployStack({
      cfn: new CloudFormationClient({ region: 'us-east-1' }),
      stackName: NAME,
      templateBody: '{"Resources":{}}',
      timeoutMs: 600_000,
      log,
      ...over,
    }),
  );

function deployError(o: Outcome<unknown>): StackDeployError {
  expect(o.error).toBeInstanceOf(StackDeployError);
  return o.error as StackDeployError;
}

describe('a new stack', () => {
  it('is created through a CREATE change set printed before it runs, and waited for', async () => {
    const { created, calls } = world({
      start: { stacks: ['missing'] },
      changeSet: [
        { $metadata: {}, Status: 'CREATE_PENDING' },
        { $metadata: {}, Status: 'CREATE_IN_PROGRESS' },
        {
          $metadata: {},
          Status: 'CREATE_COMPLETE',
          Changes: [
            addFirst,
            {
              ResourceChange: {
                Action: 'Modify',
                LogicalResourceId: 'Api',
                ResourceType: 'AWS::ApiGatewayV2::Api',
                Replacement: 'True',
              },
            },
            {
              ResourceChange: {
                Action: 'Modify',
                LogicalResourceId: 'Stage',
                ResourceType: 'AWS::ApiGatewayV2::Stage',
                Replacement: 'Conditional',
              },
            },
            {
              ResourceChange: {
                Action: 'Modify',
                LogicalResourceId: 'Route',
                ResourceType: 'AWS::ApiGatewayV2::Route',
                Replacement: 'False',
              },
            },
            {},
            { ResourceChange: {} },
          ],
        },
      ],
      executed: {
        stacks: [
          'missing',
          stack('REVIEW_IN_PROGRESS'),
          stack('CREATE_IN_PROGRESS'),
          stack('CREATE_COMPLETE', {
            Outputs: [
              { OutputKey: 'PublicEndpoint', OutputValue: 'https://api.example' },
              { OutputKey: 'Empty', OutputValue: '' },
              { OutputKey: 'NoValue' },
              { OutputValue: 'no key' },
            ],
          }),
        ],
      },
    });
    const o = await deploy({
      parameters: { App: 'bookstore', Env: 'test' },
      tags: { team: 'books' },
      capabilities: ['CAPABILITY_IAM'],
    });
    expect(o.error).toBeUndefined();
    expect(o.value).toEqual({
      stackName: NAME,
      action: 'create',
      status: 'CREATE_COMPLETE',
      outputs: { PublicEndpoint: 'https://api.example', Empty: '' },
      changes: [
        { action: 'Add', logicalId: 'First', type: 'AWS::SSM::Parameter', replacement: undefined },
        { action: 'Modify', logicalId: 'Api', type: 'AWS::ApiGatewayV2::Api', replacement: 'True' },
        {
          action: 'Modify',
          logicalId: 'Stage',
          type: 'AWS::ApiGatewayV2::Stage',
          replacement: 'Conditional',
        },
        {
          action: 'Modify',
          logicalId: 'Route',
          type: 'AWS::ApiGatewayV2::Route',
          replacement: 'False',
        },
        { action: '?', logicalId: '?', type: '?', replacement: undefined },
      ],
    });
    expect(created).toEqual([
      {
        StackName: NAME,
        ChangeSetName: CHANGE_SET,
        ChangeSetType: 'CREATE',
        TemplateBody: '{"Resources":{}}',
        Parameters: [
          { ParameterKey: 'App', ParameterValue: 'bookstore' },
          { ParameterKey: 'Env', ParameterValue: 'test' },
        ],
        Capabilities: ['CAPABILITY_IAM'],
        Tags: [{ Key: 'team', Value: 'books' }],
      },
    ]);
    // An output without a value is left out, not passed on as undefined.
    expect(Object.keys(o.value?.outputs ?? {})).toEqual(['PublicEndpoint', 'Empty']);
    expect(calls).toContain(`DescribeChangeSet ${NAME} ${CHANGE_SET}`);
    expect(calls).toContain(`ExecuteChangeSet ${NAME} ${CHANGE_SET}`);
    expect(lines).toEqual([
      `[deploy]     ${NAME}: creating a CREATE change set ${CHANGE_SET}`,
      `[deploy]     ${NAME}: change set ${CHANGE_SET} (5 changes):`,
      '[deploy]       Add     First (AWS::SSM::Parameter)',
      '[deploy]       Modify  Api (AWS::ApiGatewayV2::Api)  [REPLACEMENT]',
      '[deploy]       Modify  Stage (AWS::ApiGatewayV2::Stage)  [may replace]',
      '[deploy]       Modify  Route (AWS::ApiGatewayV2::Route)',
      '[deploy]       ?       ? (?)',
      `[deploy]     ${NAME}: not created yet`,
      `[deploy]     ${NAME}: REVIEW_IN_PROGRESS (execution not started yet)`,
      `[deploy]     ${NAME}: CREATE_IN_PROGRESS`,
      `[deploy]  ok ${NAME}: CREATE_COMPLETE`,
    ]);
  });

  it('sends no parameters, tags or capabilities it was not given', async () => {
    const { created } = world({
      start: { stacks: ['missing'] },
      executed: { stacks: [stack('CREATE_COMPLETE')] },
    });
    const o = await deploy();
    expect(o.value?.action).toBe('create');
    expect(o.value?.outputs).toEqual({});
    expect(created[0]?.Parameters).toEqual([]);
    expect(created[0]?.Tags).toEqual([]);
    expect(created[0] && 'Capabilities' in created[0]).toBe(false);
  });

  it('left in REVIEW_IN_PROGRESS by an earlier failed change set is still created', async () => {
    const { created } = world({
      start: { stacks: [stack('REVIEW_IN_PROGRESS')] },
      executed: {
        stacks: [stack('REVIEW_IN_PROGRESS'), stack('CREATE_COMPLETE')],
        events: [[], answer(event('First', 'AWS::SSM::Parameter', 'CREATE_COMPLETE'))],
      },
    });
    const o = await deploy();
    expect(o.value?.action).toBe('create');
    expect(created[0]?.ChangeSetType).toBe('CREATE');
    expect(printed()).toContain(`${NAME}: creating a CREATE change set`);
    // A REVIEW_IN_PROGRESS stack is not "in progress": nothing to wait for before the change set.
    expect(printed()).not.toContain('waiting for it to settle');
    expect(printed()).toContain(`${NAME}: REVIEW_IN_PROGRESS (execution not started yet)`);
  });

  it('is waited for while it still shows REVIEW_IN_PROGRESS, even once its events arrive', async () => {
    // The events of the creation can show before DescribeStacks leaves REVIEW_IN_PROGRESS.
    const begun = event(
      NAME,
      'AWS::CloudFormation::Stack',
      'CREATE_IN_PROGRESS',
      'User Initiated',
      1,
    );
    world({
      start: { stacks: [stack('REVIEW_IN_PROGRESS')] },
      executed: {
        stacks: [
          stack('REVIEW_IN_PROGRESS'),
          stack('CREATE_IN_PROGRESS'),
          stack('CREATE_COMPLETE'),
        ],
        events: [answer(begun)],
      },
    });
    const o = await deploy();
    expect(o.error).toBeUndefined();
    expect(o.value?.status).toBe('CREATE_COMPLETE');
    expect(printed()).toContain(`${NAME}: REVIEW_IN_PROGRESS (execution not started yet)`);
  });

  it('with a CREATE change set that has no changes is still executed', async () => {
    const { calls } = world({
      start: { stacks: ['missing'] },
      changeSet: [{ $metadata: {}, Status: 'CREATE_COMPLETE', Changes: [] }],
      executed: { stacks: [stack('CREATE_COMPLETE')] },
    });
    const o = await deploy();
    expect(o.value?.action).toBe('create');
    expect(calls).toContain(`ExecuteChangeSet ${NAME} ${CHANGE_SET}`);
    expect(printed()).toContain(`${NAME}: change set ${CHANGE_SET} (0 changes):`);
  });

  it('whose change set FAILED as "no changes" is a failure, not success', async () => {
    const { calls } = world({
      start: { stacks: ['missing'] },
      changeSet: [
        {
          $metadata: {},
          Status: 'FAILED',
          StatusReason: "The submitted information didn't contain changes.",
        },
      ],
    });
    const e = deployError(await deploy());
    expect(e.message).toBe(
      `stack ${NAME} ended in change set FAILED: The submitted information didn't contain changes.`,
    );
    expect(calls.some((c) => c.startsWith('ExecuteChangeSet'))).toBe(false);
  });

  it('whose CreateChangeSet is rejected with a "no changes" message is a failure', async () => {
    world({ start: { stacks: ['missing'] }, create: new Error('No updates are to be performed.') });
    const e = deployError(await deploy());
    expect(e.message).toBe(
      `stack ${NAME} ended in change set rejected: No updates are to be performed.`,
    );
  });
});

describe('an existing stack', () => {
  it('is updated through an UPDATE change set, waiting until the execution has started', async () => {
    const begun = event(NAME, 'AWS::CloudFormation::Stack', 'UPDATE_IN_PROGRESS', undefined, 2);
    const removed = event('Old', 'AWS::SSM::Parameter', 'DELETE_COMPLETE', undefined, 3);
    const { created } = world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      changeSet: [
        {
          $metadata: {},
          Status: 'CREATE_COMPLETE',
          Changes: [
            {
              ResourceChange: {
                Action: 'Remove',
                LogicalResourceId: 'Old',
                ResourceType: 'AWS::SSM::Parameter',
              },
            },
          ],
        },
      ],
      executed: {
        // Right after ExecuteChangeSet the stack may still show its previous status.
        events: [[], [], answer(begun), answer(begun, removed)],
        stacks: [
          stack('UPDATE_COMPLETE'),
          stack('UPDATE_COMPLETE'),
          stack('UPDATE_IN_PROGRESS'),
          stack('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'),
          stack('UPDATE_COMPLETE', {
            Outputs: [{ OutputKey: 'PublicEndpoint', OutputValue: 'https://api.example' }],
          }),
        ],
      },
    });
    const o = await deploy();
    expect(o.value).toEqual({
      stackName: NAME,
      action: 'update',
      status: 'UPDATE_COMPLETE',
      outputs: { PublicEndpoint: 'https://api.example' },
      changes: [
        { action: 'Remove', logicalId: 'Old', type: 'AWS::SSM::Parameter', replacement: undefined },
      ],
    });
    expect(created[0]?.ChangeSetType).toBe('UPDATE');
    expect(lines).toEqual([
      `[deploy]     ${NAME}: creating an UPDATE change set ${CHANGE_SET}`,
      `[deploy]     ${NAME}: change set ${CHANGE_SET} (1 changes):`,
      '[deploy]       Remove  Old (AWS::SSM::Parameter)',
      `[deploy]     ${NAME}: UPDATE_COMPLETE (execution not started yet)`,
      `[deploy]     10:20:32 UPDATE_IN_PROGRESS ${NAME} (AWS::CloudFormation::Stack)`,
      `[deploy]     ${NAME}: UPDATE_IN_PROGRESS`,
      '[deploy]     10:20:33 DELETE_COMPLETE Old (AWS::SSM::Parameter)',
      `[deploy]     ${NAME}: UPDATE_COMPLETE_CLEANUP_IN_PROGRESS`,
      `[deploy]  ok ${NAME}: UPDATE_COMPLETE`,
    ]);
  });

  it('counts the previous status as final once events of the execution have arrived', async () => {
    // A quick update: the first look after ExecuteChangeSet already shows UPDATE_COMPLETE, the
    // same status as before, but the stack's new events prove the execution ran.
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')], events: [answer(event('Old', 'T', 'X'))] },
      executed: {
        stacks: [stack('UPDATE_COMPLETE')],
        events: [
          answer(
            event('Old', 'T', 'X'),
            event(NAME, 'AWS::CloudFormation::Stack', 'UPDATE_COMPLETE'),
          ),
        ],
      },
    });
    const o = await deploy();
    expect(o.value?.status).toBe('UPDATE_COMPLETE');
    expect(printed()).not.toContain('execution not started yet');
  });

  it('is imported as success: IMPORT_COMPLETE', async () => {
    world({
      start: { stacks: [stack('IMPORT_COMPLETE')] },
      executed: {
        stacks: [stack('UPDATE_IN_PROGRESS'), stack('IMPORT_COMPLETE')],
        events: [answer(event(NAME, 'AWS::CloudFormation::Stack', 'IMPORT_IN_PROGRESS'))],
      },
    });
    const o = await deploy();
    expect(o.value?.status).toBe('IMPORT_COMPLETE');
    expect(o.value?.action).toBe('update');
  });

  it.each([
    [
      'a FAILED change set that says so',
      {
        changeSet: [
          {
            $metadata: {},
            Status: 'FAILED',
            StatusReason:
              "The submitted information didn't contain changes. Submit different information to create a change set.",
          },
        ],
      },
    ],
    [
      'a FAILED change set saying "No updates are to be performed"',
      {
        changeSet: [
          { $metadata: {}, Status: 'FAILED', StatusReason: 'No updates are to be performed.' },
        ],
      },
    ],
    [
      'an empty change set',
      { changeSet: [{ $metadata: {}, Status: 'CREATE_COMPLETE', Changes: [] }] },
    ],
    [
      'a change set without changes at all',
      { changeSet: [{ $metadata: {}, Status: 'CREATE_COMPLETE' }] },
    ],
  ] as [string, { changeSet: DescribeChangeSetCommandOutput[] }][])(
    'with no changes (%s) is success, the change set deleted',
    async (_, over) => {
      const { calls } = world({
        start: {
          stacks: [
            stack('UPDATE_COMPLETE', {
              Outputs: [{ OutputKey: 'PublicEndpoint', OutputValue: 'https://api.example' }],
            }),
          ],
        },
        changeSet: [...over.changeSet],
      });
      const o = await deploy();
      expect(o.value).toEqual({
        stackName: NAME,
        action: 'none',
        status: 'UPDATE_COMPLETE',
        outputs: { PublicEndpoint: 'https://api.example' },
        changes: [],
      });
      expect(calls).toContain(`DeleteChangeSet ${NAME} ${CHANGE_SET}`);
      expect(calls.some((c) => c.startsWith('ExecuteChangeSet'))).toBe(false);
      expect(lines).toEqual([
        `[deploy]     ${NAME}: creating an UPDATE change set ${CHANGE_SET}`,
        `[deploy]  ok ${NAME}: no changes`,
      ]);
    },
  );

  it('with no changes is success even when the unused change set cannot be deleted', async () => {
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      changeSet: [{ $metadata: {}, Status: 'FAILED', StatusReason: 'no changes' }],
      deleteChangeSet: new Error('Rate exceeded'),
    });
    const o = await deploy();
    expect(o.value?.action).toBe('none');
  });

  it.each([
    ["The submitted information didn't contain changes."],
    ['No updates are to be performed.'],
  ])('rejected with "%s" (moto, older endpoints) is success with no changes', async (message) => {
    const { calls } = world({
      start: { stacks: [stack('CREATE_COMPLETE')] },
      create: Object.assign(new Error(message), { name: 'ValidationError' }),
    });
    const o = await deploy();
    expect(o.value).toEqual({
      stackName: NAME,
      action: 'none',
      status: 'CREATE_COMPLETE',
      outputs: {},
      changes: [],
    });
    expect(calls.some((c) => c.startsWith('DescribeChangeSet'))).toBe(false);
    expect(printed()).toContain(`${NAME}: no changes`);
  });

  it('whose change set is rejected for another reason fails with that reason', async () => {
    const { calls } = world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      create: new Error('Template format error: Unresolved resource dependencies [Vpc]'),
    });
    const e = deployError(await deploy());
    expect(e.message).toBe(
      `stack ${NAME} ended in change set rejected: Template format error: Unresolved resource dependencies [Vpc]`,
    );
    expect(e.status).toBe('change set rejected');
    expect(e.reasons).toEqual(['Template format error: Unresolved resource dependencies [Vpc]']);
    expect(calls.some((c) => c.startsWith('DescribeChangeSet'))).toBe(false);
  });

  it('whose change set FAILED for another reason fails with it, and nothing is executed', async () => {
    const { calls } = world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      changeSet: [
        { $metadata: {}, Status: 'CREATE_PENDING' },
        {
          $metadata: {},
          Status: 'FAILED',
          StatusReason: 'Requires capabilities : [CAPABILITY_IAM]',
          Changes: [addFirst],
        },
      ],
    });
    const e = deployError(await deploy());
    expect(e.message).toBe(
      `stack ${NAME} ended in change set FAILED: Requires capabilities : [CAPABILITY_IAM]`,
    );
    expect(calls.some((c) => c.startsWith('ExecuteChangeSet'))).toBe(false);
    expect(calls.some((c) => c.startsWith('DeleteChangeSet'))).toBe(false);
    expect(printed()).not.toContain('no changes');
  });

  it('whose change set FAILED without a reason says none was given', async () => {
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      changeSet: [{ $metadata: {}, Status: 'FAILED', Changes: [] }],
    });
    const e = deployError(await deploy());
    expect(e.message).toBe(`stack ${NAME} ended in change set FAILED: no reason given`);
  });
});

describe('the wait for the stack', () => {
  it('prints each new event once, oldest first, and none from before the execution', async () => {
    const before = event('Old', 'AWS::SSM::Parameter', 'CREATE_COMPLETE', undefined, -600);
    const started = event(
      NAME,
      'AWS::CloudFormation::Stack',
      'UPDATE_IN_PROGRESS',
      'User Initiated',
      1,
    );
    const param = event('First', 'AWS::SSM::Parameter', 'UPDATE_IN_PROGRESS', undefined, 2);
    const done = event('First', 'AWS::SSM::Parameter', 'UPDATE_COMPLETE', undefined, 3);
    const odd = { EventId: 'bare' } as StackEvent;
    const noId = { LogicalResourceId: 'Ghost', ResourceStatus: 'UPDATE_FAILED' } as StackEvent;
    const end = event(NAME, 'AWS::CloudFormation::Stack', 'UPDATE_COMPLETE', undefined, 4);
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')], events: [answer(before)] },
      executed: {
        stacks: [
          stack('UPDATE_IN_PROGRESS'),
          stack('UPDATE_IN_PROGRESS'),
          stack('UPDATE_COMPLETE'),
        ],
        events: [
          answer(before, started, param),
          answer(before, started, param, done, odd, noId),
          answer(before, started, param, done, odd, noId, end),
        ],
      },
    });
    const o = await deploy();
    expect(o.value?.status).toBe('UPDATE_COMPLETE');
    const shown = lines.filter((l) => /^\[deploy\] {5}(\d\d:\d\d:\d\d|--:--:--) /.test(l));
    expect(shown).toEqual([
      `[deploy]     10:20:31 UPDATE_IN_PROGRESS ${NAME} (AWS::CloudFormation::Stack)  User Initiated`,
      '[deploy]     10:20:32 UPDATE_IN_PROGRESS First (AWS::SSM::Parameter)',
      '[deploy]     10:20:33 UPDATE_COMPLETE First (AWS::SSM::Parameter)',
      '[deploy]     --:--:-- ? ? (?)',
      `[deploy]     10:20:34 UPDATE_COMPLETE ${NAME} (AWS::CloudFormation::Stack)`,
    ]);
    // The state is printed when it changes, not on every poll.
    expect(lines.filter((l) => l.endsWith(`${NAME}: UPDATE_IN_PROGRESS`))).toHaveLength(1);
  });

  it('treats a stack whose events cannot be found (yet) as having none', async () => {
    world({
      start: { stacks: ['missing'], events: [missing()] },
      executed: {
        stacks: [stack('CREATE_IN_PROGRESS'), stack('CREATE_COMPLETE')],
        events: [
          missing(),
          answer(event('First', 'AWS::SSM::Parameter', 'CREATE_COMPLETE', undefined, 5)),
        ],
      },
    });
    const o = await deploy();
    expect(o.value?.status).toBe('CREATE_COMPLETE');
    expect(printed()).toContain('10:20:35 CREATE_COMPLETE First (AWS::SSM::Parameter)');
  });

  it('passes on any other error reading the events', async () => {
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      executed: {
        stacks: [stack('UPDATE_IN_PROGRESS')],
        events: [[], new Error('Rate exceeded')],
      },
    });
    const o = await deploy();
    expect(o.error).toBeInstanceOf(Error);
    expect(o.error).not.toBeInstanceOf(StackDeployError);
    expect((o.error as Error).message).toBe('Rate exceeded');
  });

  it('passes on any other error reading the stack', async () => {
    world({
      start: {
        stacks: [new Error('ExpiredToken: The security token included in the request is expired')],
      },
    });
    const o = await deploy();
    expect((o.error as Error).message).toBe(
      'ExpiredToken: The security token included in the request is expired',
    );
    expect(o.error).not.toBeInstanceOf(StackDeployError);
  });

  it('ends at its deadline with the state it was in and what to do next', async () => {
    const failed = event('Api', 'AWS::ApiGatewayV2::Api', 'UPDATE_FAILED', 'Rate exceeded', 5);
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      executed: {
        stacks: [stack('UPDATE_IN_PROGRESS'), stack('UPDATE_ROLLBACK_IN_PROGRESS')],
        events: [[], answer(failed)],
      },
    });
    const o = await deploy({ timeoutMs: 300_000 });
    const e = deployError(o);
    expect(e.message).toBe(
      `stack ${NAME} ended in still UPDATE_ROLLBACK_IN_PROGRESS after the timeout: ` +
        'Api (AWS::ApiGatewayV2::Api): Rate exceeded; ' +
        'CloudFormation continues on its own; watch it in the console or re-run this command later',
    );
    expect(e.status).toBe('still UPDATE_ROLLBACK_IN_PROGRESS after the timeout');
    // Bounded by the deploy's own timeout: not before it, and not long after.
    expect(o.took).toBeGreaterThanOrEqual(300_000);
    expect(o.took).toBeLessThan(300_000 + 30_000);
  });

  it('counts the time spent before the execution against the same deadline', async () => {
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      // The change set takes four minutes of a five-minute budget.
      changeSet: [
        ...Array.from(
          { length: 48 },
          (): DescribeChangeSetCommandOutput => ({
            $metadata: {},
            Status: 'CREATE_IN_PROGRESS',
          }),
        ),
        COMPLETE_CHANGE_SET,
      ],
      executed: { stacks: [stack('UPDATE_IN_PROGRESS')] },
    });
    const o = await deploy({ timeoutMs: 300_000 });
    expect(deployError(o).status).toBe('still UPDATE_IN_PROGRESS after the timeout');
    expect(o.took).toBeGreaterThanOrEqual(300_000);
    expect(o.took).toBeLessThan(300_000 + 30_000);
  });

  it('still polls a last time when the time is all but used up', async () => {
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      changeSet: [
        ...Array.from(
          { length: 14 },
          (): DescribeChangeSetCommandOutput => ({
            $metadata: {},
            Status: 'CREATE_IN_PROGRESS',
          }),
        ),
        COMPLETE_CHANGE_SET,
      ],
      executed: {
        stacks: [stack('UPDATE_IN_PROGRESS'), stack('UPDATE_COMPLETE')],
        events: [answer(event(NAME, 'AWS::CloudFormation::Stack', 'UPDATE_IN_PROGRESS'))],
      },
    });
    // The change set is ready at the last poll of the minute (its 15th, at 60 s): the stack is
    // still looked at again, a second later, rather than given up at once.
    const o = await deploy({ timeoutMs: 60_000 });
    expect(o.error).toBeUndefined();
    expect(o.value?.status).toBe('UPDATE_COMPLETE');
  });

  it('of a change set ends at its deadline naming the change set and its state', async () => {
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      changeSet: [{ $metadata: {}, Status: 'CREATE_PENDING' }],
    });
    const o = await deploy({ timeoutMs: 120_000 });
    expect(o.error).toBeInstanceOf(WaitTimeoutError);
    expect((o.error as Error).message).toBe(
      `change set ${CHANGE_SET} of ${NAME} did not finish within 2 min (last state: CREATE_PENDING)`,
    );
    expect(o.took).toBeGreaterThanOrEqual(120_000);
    expect(o.took).toBeLessThan(120_000 + 10_000);
  });

  it('of a change set that answers with no status waits as UNKNOWN', async () => {
    world({ start: { stacks: [stack('UPDATE_COMPLETE')] }, changeSet: [{ $metadata: {} }] });
    const o = await deploy({ timeoutMs: 60_000 });
    expect((o.error as Error).message).toContain('(last state: UNKNOWN)');
  });

  it('polls a change set at the pace it is given', async () => {
    const { calls } = world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      changeSet: [{ $metadata: {}, Status: 'CREATE_PENDING' }],
    });
    const o = await deploy({
      timeoutMs: 60_000,
      backoff: { initialDelayMs: 10_000, maxDelayMs: 10_000 },
    });
    expect(o.error).toBeInstanceOf(WaitTimeoutError);
    // At 0, 10, 20, 30, 40, 50 and 60 s.
    expect(calls.filter((c) => c.startsWith('DescribeChangeSet'))).toHaveLength(7);
  });

  it('polls the stack at the pace it is given, while settling and while executing', async () => {
    const { calls } = world({
      start: { stacks: [stack('UPDATE_IN_PROGRESS')] },
      changeSet: [COMPLETE_CHANGE_SET],
    });
    const slow = { initialDelayMs: 20_000, maxDelayMs: 20_000 };
    const settling = await deploy({ timeoutMs: 60_000, backoff: slow });
    expect(settling.error).toBeInstanceOf(WaitTimeoutError);
    // One look to start with, then at 0, 20, 40 and 60 s.
    expect(calls.filter((c) => c === 'DescribeStacks')).toHaveLength(5);

    const executing = world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      executed: { stacks: [stack('UPDATE_IN_PROGRESS')] },
    });
    const o = await deploy({ timeoutMs: 60_000, backoff: slow });
    expect(deployError(o).status).toBe('still UPDATE_IN_PROGRESS after the timeout');
    const afterExecute = executing.calls.slice(
      executing.calls.findIndex((c) => c.startsWith('ExecuteChangeSet')),
    );
    // The change set (ready at once) took no time: at 0, 20, 40 and 60 s.
    expect(afterExecute.filter((c) => c === 'DescribeStacks')).toHaveLength(4);
  });

  it('polls a change set every second at first, then backs off to five', async () => {
    const { calls } = world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      changeSet: [{ $metadata: {}, Status: 'CREATE_PENDING' }],
    });
    await deploy({ timeoutMs: 60_000 });
    // At 0, 1, 3, 7, then every 5 s to 57, and at 60 s.
    expect(calls.filter((c) => c.startsWith('DescribeChangeSet'))).toHaveLength(15);
  });
});

describe('a failed deployment', () => {
  it("names the failed resources' own reasons, not the cancellations or the stack's", async () => {
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      executed: {
        stacks: [
          stack('UPDATE_IN_PROGRESS'),
          stack('UPDATE_ROLLBACK_COMPLETE', {
            StackStatusReason: 'The following resource(s) failed to update: [Route, Ingress].',
          }),
        ],
        events: [
          [],
          answer(
            event(NAME, 'AWS::CloudFormation::Stack', 'UPDATE_IN_PROGRESS', 'User Initiated', 1),
            event(
              'Route',
              'AWS::ApiGatewayV2::Route',
              'UPDATE_FAILED',
              'Route key already exists',
              2,
            ),
            event(
              'Ingress',
              'AWS::EC2::SecurityGroupIngress',
              'CREATE_FAILED',
              'sg-1 does not exist',
              3,
            ),
            event(
              'Stage',
              'AWS::ApiGatewayV2::Stage',
              'UPDATE_FAILED',
              'Resource update cancelled',
              4,
            ),
            event(
              'Other',
              'AWS::SSM::Parameter',
              'CREATE_FAILED',
              'Resource creation cancelled',
              4,
            ),
            event('Quiet', 'AWS::SSM::Parameter', 'UPDATE_FAILED', undefined, 4),
            event('Fine', 'AWS::SSM::Parameter', 'UPDATE_COMPLETE', 'done, eventually', 4),
            event(
              NAME,
              'AWS::CloudFormation::Stack',
              'UPDATE_ROLLBACK_IN_PROGRESS',
              'The following resource(s) failed to update: [Route, Ingress].',
              5,
            ),
            event(NAME, 'AWS::CloudFormation::Stack', 'UPDATE_FAILED', 'stack-level failure', 5),
            event(
              NAME,
              'AWS::SSM::Parameter',
              'UPDATE_FAILED',
              'a resource named like the stack',
              5,
            ),
            event(
              'Nested',
              'AWS::CloudFormation::Stack',
              'UPDATE_FAILED',
              'nested stack failed',
              5,
            ),
            { EventId: 'bare' } as StackEvent,
            {
              EventId: 'untyped',
              LogicalResourceId: NAME,
              ResourceStatus: 'UPDATE_FAILED',
              ResourceStatusReason: 'a failure of no stated type',
            } as StackEvent,
            event(NAME, 'AWS::CloudFormation::Stack', 'UPDATE_ROLLBACK_COMPLETE', undefined, 6),
          ),
        ],
      },
    });
    const e = deployError(await deploy());
    expect(e.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(e.reasons).toEqual([
      'Route (AWS::ApiGatewayV2::Route): Route key already exists',
      'Ingress (AWS::EC2::SecurityGroupIngress): sg-1 does not exist',
      `${NAME} (AWS::SSM::Parameter): a resource named like the stack`,
      'Nested (AWS::CloudFormation::Stack): nested stack failed',
      `${NAME} (undefined): a failure of no stated type`,
    ]);
    expect(e.message).toBe(
      `stack ${NAME} ended in UPDATE_ROLLBACK_COMPLETE: ${e.reasons.join('; ')}`,
    );
    expect(e.name).toBe('StackDeployError');
    expect(e.stackName).toBe(NAME);
    expect(printed()).not.toContain(' ok ');
  });

  it("falls back on the stack's own reason when no resource failed", async () => {
    world({
      start: { stacks: ['missing'] },
      executed: {
        stacks: [
          stack('ROLLBACK_COMPLETE', {
            StackStatusReason: 'The following resource(s) failed to create: [Role].',
          }),
        ],
        events: [
          answer(event(NAME, 'AWS::CloudFormation::Stack', 'CREATE_FAILED', 'stack-level only', 1)),
        ],
      },
    });
    const e = deployError(await deploy());
    expect(e.message).toBe(
      `stack ${NAME} ended in ROLLBACK_COMPLETE: The following resource(s) failed to create: [Role].`,
    );
  });

  it('says no failure event was found when there is nothing else to say', async () => {
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      executed: { stacks: [stack('UPDATE_IN_PROGRESS'), stack('UPDATE_ROLLBACK_COMPLETE')] },
    });
    const e = deployError(await deploy());
    expect(e.message).toBe(
      `stack ${NAME} ended in UPDATE_ROLLBACK_COMPLETE: no failure event found`,
    );
  });

  it('reports a stack that answers without a status as UNKNOWN, not success', async () => {
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      executed: {
        stacks: [{ StackName: NAME, CreationTime: START } as Stack],
        events: [answer(event('First', 'T', 'UPDATE_COMPLETE'))],
      },
    });
    const e = deployError(await deploy());
    expect(e.status).toBe('UNKNOWN');
  });

  it('whose execution is refused names the events so far and the refusal', async () => {
    const { calls } = world({
      start: {
        stacks: [stack('UPDATE_COMPLETE')],
        events: [[], answer(event('Role', 'AWS::IAM::Role', 'UPDATE_FAILED', 'AccessDenied', 1))],
      },
      execute: new Error('ChangeSet [x] cannot be executed in its current status of [OBSOLETE]'),
    });
    const e = deployError(await deploy());
    expect(e.message).toBe(
      `stack ${NAME} ended in execute failed: Role (AWS::IAM::Role): AccessDenied; ChangeSet [x] cannot be executed in its current status of [OBSOLETE]`,
    );
    expect(printed()).toContain('10:20:31 UPDATE_FAILED Role (AWS::IAM::Role)  AccessDenied');
    expect(calls.filter((c) => c === 'DescribeStacks')).toHaveLength(1);
  });

  it('whose execution is refused still says why when the events cannot be read', async () => {
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')], events: [[], new Error('Rate exceeded')] },
      execute: new Error('Stack is in UPDATE_IN_PROGRESS state and can not be updated.'),
    });
    const e = deployError(await deploy());
    expect(e.reasons).toEqual(['Stack is in UPDATE_IN_PROGRESS state and can not be updated.']);
  });
});

describe('a stack left by an earlier run', () => {
  it('in ROLLBACK_COMPLETE (its creation failed) is deleted, then created again', async () => {
    const { calls, created } = world({
      start: { stacks: [stack('ROLLBACK_COMPLETE')] },
      deleting: {
        stacks: [stack('DELETE_IN_PROGRESS'), stack('DELETE_COMPLETE')],
        events: [
          answer(event(NAME, 'AWS::CloudFormation::Stack', 'DELETE_IN_PROGRESS', undefined, 1)),
        ],
      },
      executed: { stacks: ['missing', stack('CREATE_IN_PROGRESS'), stack('CREATE_COMPLETE')] },
    });
    const o = await deploy();
    expect(o.value?.action).toBe('create');
    expect(o.value?.status).toBe('CREATE_COMPLETE');
    expect(created[0]?.ChangeSetType).toBe('CREATE');
    expect(calls).toContain(`DeleteStack ${STACK_ID}`);
    expect(calls.indexOf(`DeleteStack ${STACK_ID}`)).toBeLessThan(
      calls.findIndex((c) => c.startsWith('CreateChangeSet')),
    );
    expect(lines.slice(0, 4)).toEqual([
      `[deploy] WARN ${NAME} is ROLLBACK_COMPLETE (its creation failed earlier): deleting it to recreate`,
      `[deploy]     10:20:31 DELETE_IN_PROGRESS ${NAME} (AWS::CloudFormation::Stack)`,
      `[deploy]     ${NAME}: DELETE_IN_PROGRESS`,
      `[deploy]  ok ${NAME}: deleted`,
    ]);
  });

  it('in ROLLBACK_COMPLETE that cannot be deleted fails with the reason', async () => {
    const { calls } = world({
      start: { stacks: [stack('ROLLBACK_COMPLETE')] },
      deleting: {
        stacks: [stack('DELETE_IN_PROGRESS'), stack('DELETE_FAILED')],
        events: [
          answer(event('Bucket', 'AWS::S3::Bucket', 'DELETE_FAILED', 'The bucket is not empty', 1)),
        ],
      },
    });
    const e = deployError(await deploy());
    expect(e.message).toBe(
      `stack ${NAME} ended in DELETE_FAILED: Bucket (AWS::S3::Bucket): The bucket is not empty`,
    );
    expect(calls.some((c) => c.startsWith('CreateChangeSet'))).toBe(false);
  });

  it.each([
    ['DELETE_FAILED', 'Failed to delete: [Bucket]', 'Failed to delete: [Bucket]'],
    ['ROLLBACK_FAILED', undefined, 'the stack must be repaired or deleted by hand first'],
  ])(
    'in %s is refused with what to do, and no change set is made',
    async (status, reason, said) => {
      const { calls } = world({
        start: {
          stacks: [stack(status, reason ? { StackStatusReason: reason } : {})],
        },
      });
      const e = deployError(await deploy());
      expect(e.message).toBe(`stack ${NAME} ended in ${status}: ${said}`);
      expect(calls.some((c) => c.startsWith('CreateChangeSet'))).toBe(false);
    },
  );

  it('still in progress is waited for before the change set is made', async () => {
    const inProgress = event('Old', 'T', 'UPDATE_IN_PROGRESS', undefined, -5);
    const { calls } = world({
      start: {
        stacks: [
          stack('UPDATE_IN_PROGRESS'),
          stack('UPDATE_IN_PROGRESS'),
          stack('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'),
          stack('UPDATE_COMPLETE'),
        ],
        events: [
          answer(inProgress),
          answer(inProgress),
          answer(inProgress),
          answer(inProgress, event('Old', 'T', 'UPDATE_COMPLETE', undefined, 7)),
        ],
      },
      executed: { stacks: [stack('UPDATE_IN_PROGRESS'), stack('UPDATE_COMPLETE')] },
    });
    const o = await deploy();
    expect(o.value?.action).toBe('update');
    expect(lines.slice(0, 5)).toEqual([
      `[deploy]     ${NAME} is UPDATE_IN_PROGRESS: waiting for it to settle first`,
      `[deploy]     ${NAME}: UPDATE_IN_PROGRESS`,
      `[deploy]     ${NAME}: UPDATE_COMPLETE_CLEANUP_IN_PROGRESS`,
      '[deploy]     10:20:37 UPDATE_COMPLETE Old (T)',
      // Named when it is made, after the wait (six seconds on).
      `[deploy]     ${NAME}: creating an UPDATE change set deploy-20261206102036456-${process.pid}`,
    ]);
    const settled = calls.lastIndexOf(
      'DescribeStacks',
      calls.findIndex((c) => c.startsWith('CreateChangeSet')),
    );
    expect(settled).toBeGreaterThan(0);
  });

  it('still in progress past the deadline ends with a timeout, no change set made', async () => {
    const { calls } = world({ start: { stacks: [stack('UPDATE_ROLLBACK_IN_PROGRESS')] } });
    const o = await deploy({ timeoutMs: 120_000 });
    expect(o.error).toBeInstanceOf(WaitTimeoutError);
    expect((o.error as Error).message).toBe(
      `stack ${NAME} did not finish within 2 min (last state: UPDATE_ROLLBACK_IN_PROGRESS)`,
    );
    expect(o.took).toBeGreaterThanOrEqual(120_000);
    expect(o.took).toBeLessThan(120_000 + 30_000);
    expect(calls.some((c) => c.startsWith('CreateChangeSet'))).toBe(false);
  });

  it('rolled back while waited for is updated from there', async () => {
    world({
      start: {
        stacks: [stack('UPDATE_ROLLBACK_IN_PROGRESS'), stack('UPDATE_ROLLBACK_COMPLETE')],
      },
      executed: { stacks: [stack('UPDATE_IN_PROGRESS'), stack('UPDATE_COMPLETE')] },
    });
    const o = await deploy();
    expect(o.value?.action).toBe('update');
    expect(o.value?.status).toBe('UPDATE_COMPLETE');
  });

  // The events seen while waiting for another run to settle stayed in the deploy's event list,
  // so after ExecuteChangeSet the stack counted as "moved" at once: a first look that still showed
  // the settled status (UPDATE_COMPLETE, from the other run) was taken as this run's end, and the
  // deploy reported success without waiting for its own update (here: which then fails).
  it('after waiting for another run, waits for its own execution, not the other run', async () => {
    // The other run's last event, which CloudFormation goes on listing.
    const other = event('Other', 'T', 'UPDATE_COMPLETE', undefined, 1);
    world({
      start: {
        stacks: [stack('UPDATE_IN_PROGRESS'), stack('UPDATE_COMPLETE')],
        events: [[], answer(other)],
      },
      executed: {
        stacks: [
          stack('UPDATE_COMPLETE'),
          stack('UPDATE_IN_PROGRESS'),
          stack('UPDATE_ROLLBACK_COMPLETE'),
        ],
        events: [answer(other)],
      },
    });
    const o = await deploy();
    expect(deployError(o).status).toBe('UPDATE_ROLLBACK_COMPLETE');
  });

  // A stack being deleted when the deploy starts (DELETE_IN_PROGRESS) was waited for as if it
  // were being created: once it was gone the wait reported "not created yet" until the deadline
  // and the deploy ended in a timeout, instead of creating the stack anew.
  it('being deleted is waited for until it is gone, then created', async () => {
    world({
      start: { stacks: [stack('DELETE_IN_PROGRESS'), 'missing'] },
      executed: { stacks: [stack('CREATE_IN_PROGRESS'), stack('CREATE_COMPLETE')] },
    });
    const o = await deploy({ timeoutMs: 120_000 });
    expect(o.value?.action).toBe('create');
  });
});

describe('deleteStack', () => {
  const del = (over: Partial<Parameters<typeof deleteStack>[0]> = {}) =>
    outcome(() =>
      deleteStack({
        cfn: new CloudFormationClient({ region: 'us-east-1' }),
        stackName: NAME,
        timeoutMs: 600_000,
        log,
        ...over,
      }),
    );

  it('reports a stack that is not there as absent, and deletes nothing', async () => {
    const { calls } = world({ start: { stacks: ['missing'] } });
    expect((await del()).value).toBe('absent');
    expect(calls.some((c) => c.startsWith('DeleteStack'))).toBe(false);
    expect(lines).toEqual([]);
  });

  it('reports a stack already DELETE_COMPLETE as absent', async () => {
    world({ start: { stacks: [stack('DELETE_COMPLETE')] } });
    expect((await del()).value).toBe('absent');
  });

  it('deletes by name when the stack has no id, and waits for it to go', async () => {
    const { calls } = world({
      start: { stacks: [{ StackName: NAME, StackStatus: 'CREATE_COMPLETE', CreationTime: START }] },
      deleting: { stacks: [stack('DELETE_IN_PROGRESS'), stack('DELETE_IN_PROGRESS'), 'missing'] },
    });
    const o = await del();
    expect(o.value).toBe('deleted');
    expect(calls).toContain(`DeleteStack ${NAME}`);
    expect(lines).toEqual([
      `[deploy]     ${NAME}: DELETE_IN_PROGRESS`,
      `[deploy]  ok ${NAME}: deleted`,
    ]);
  });

  it('fails with the stack reason, or says none was given, when no resource names one', async () => {
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      deleting: { stacks: [stack('DELETE_FAILED', { StackStatusReason: 'Role is in use' })] },
    });
    expect(deployError(await del()).message).toBe(
      `stack ${NAME} ended in DELETE_FAILED: Role is in use`,
    );
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      deleting: { stacks: [stack('DELETE_FAILED')] },
    });
    expect(deployError(await del()).message).toBe(
      `stack ${NAME} ended in DELETE_FAILED: no reason given`,
    );
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      deleting: { stacks: [{ StackName: NAME, CreationTime: START } as Stack] },
    });
    expect(deployError(await del()).status).toBe('UNKNOWN');
  });

  it('ends at its deadline', async () => {
    world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      deleting: { stacks: [stack('DELETE_IN_PROGRESS')] },
    });
    const o = await del({
      timeoutMs: 60_000,
      backoff: { initialDelayMs: 1_000, maxDelayMs: 1_000 },
    });
    expect((o.error as Error).message).toBe(
      `stack ${NAME} did not finish within 60 s (last state: DELETE_IN_PROGRESS)`,
    );
    expect(o.took).toBe(60_000);
  });

  it('polls at the pace it is given', async () => {
    const { calls } = world({
      start: { stacks: [stack('UPDATE_COMPLETE')] },
      deleting: { stacks: [stack('DELETE_IN_PROGRESS')] },
    });
    await del({ timeoutMs: 60_000, backoff: { initialDelayMs: 20_000, maxDelayMs: 20_000 } });
    // One look before DeleteStack, then at 0, 20, 40 and 60 s.
    expect(calls.filter((c) => c === 'DescribeStacks')).toHaveLength(5);
  });
});

describe('stackOutputs and isSuccess', () => {
  it("reads a stack's outputs, and undefined for a stack that is not there", async () => {
    world({
      start: {
        stacks: [
          stack('UPDATE_COMPLETE', { Outputs: [{ OutputKey: 'Url', OutputValue: 'https://x' }] }),
          'missing',
          stack('DELETE_COMPLETE'),
          stack('CREATE_COMPLETE'),
        ],
      },
    });
    const client = new CloudFormationClient({ region: 'us-east-1' });
    expect(await stackOutputs(client, NAME)).toEqual({ Url: 'https://x' });
    expect(await stackOutputs(client, NAME)).toBeUndefined();
    expect(await stackOutputs(client, NAME)).toBeUndefined();
    expect(await stackOutputs(client, NAME)).toEqual({});
  });

  it('takes an answer that lists no stack as no stack', async () => {
    const client = new CloudFormationClient({ region: 'us-east-1' });
    cfn.on(DescribeStacksCommand).resolvesOnce({}).resolvesOnce({ Stacks: [] });
    expect(await stackOutputs(client, NAME)).toBeUndefined();
    expect(await stackOutputs(client, NAME)).toBeUndefined();
  });

  it('passes on an error that is not a missing stack', async () => {
    world({ start: { stacks: [new Error('AccessDenied')] } });
    await expect(
      stackOutputs(new CloudFormationClient({ region: 'us-east-1' }), NAME),
    ).rejects.toThrow('AccessDenied');
  });

  it('reads no outputs from no stack', () => {
    expect(outputsOf(undefined)).toEqual({});
  });

  it('words a failure without reasons as the status alone', () => {
    expect(new StackDeployError(NAME, 'DELETE_FAILED', []).message).toBe(
      `stack ${NAME} ended in DELETE_FAILED`,
    );
  });

  it('counts only the complete statuses as success', () => {
    for (const s of ['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'IMPORT_COMPLETE']) {
      expect(isSuccess(s)).toBe(true);
    }
    for (const s of [
      'ROLLBACK_COMPLETE',
      'UPDATE_ROLLBACK_COMPLETE',
      'DELETE_COMPLETE',
      'UNKNOWN',
    ]) {
      expect(isSuccess(s)).toBe(false);
    }
  });
});
