// Deploys one CloudFormation stack the careful way: through a change set that is printed before
// it runs, "no changes" counted as success, stack events streamed while waiting, and on failure
// the failed resources' own reasons instead of a bare ROLLBACK_COMPLETE. Every wait is bounded.
import {
  type Capability,
  type Change,
  type CloudFormationClient,
  CreateChangeSetCommand,
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
import type { Progress } from '../cli/command.ts';
import { type BackoffOptions, WaitTimeoutError, waitUntil } from './wait.ts';

interface DeployStackOptions {
  cfn: CloudFormationClient;
  stackName: string;
  templateBody: string;
  parameters?: Record<string, string>;
  capabilities?: Capability[];
  tags?: Record<string, string>;
  timeoutMs: number;
  log: Progress;
  /** Poll pacing; tests shorten it. */
  backoff?: BackoffOptions;
}

interface ChangeSummary {
  action: string;
  logicalId: string;
  type: string;
  replacement: string | undefined;
}

interface DeployStackResult {
  stackName: string;
  action: 'create' | 'update' | 'none';
  status: string;
  outputs: Record<string, string>;
  changes: ChangeSummary[];
}

export class StackDeployError extends Error {
  override name = 'StackDeployError';
  readonly stackName: string;
  readonly status: string;
  readonly reasons: string[];
  constructor(stackName: string, status: string, reasons: string[]) {
    super(
      `stack ${stackName} ended in ${status}${reasons.length ? `: ${reasons.join('; ')}` : ''}`,
    );
    this.stackName = stackName;
    this.status = status;
    this.reasons = reasons;
  }
}

const NO_CHANGES = /didn't contain changes|No updates are to be performed|no changes/i;
const CANCELLED = /Resource (creation|update) cancelled/i;

function isInProgress(status: string): boolean {
  return status.endsWith('_IN_PROGRESS') && status !== 'REVIEW_IN_PROGRESS';
}

export function isSuccess(status: string): boolean {
  return (
    status === 'CREATE_COMPLETE' || status === 'UPDATE_COMPLETE' || status === 'IMPORT_COMPLETE'
  );
}

function isMissingStack(error: unknown): boolean {
  return /does not exist/i.test((error as Error)?.message ?? '');
}

export async function describeStack(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<Stack | undefined> {
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    return stack?.StackStatus === 'DELETE_COMPLETE' ? undefined : stack;
  } catch (error) {
    if (isMissingStack(error)) return undefined;
    throw error;
  }
}

export function outputsOf(stack: Stack | undefined): Record<string, string> {
  return Object.fromEntries(
    (stack?.Outputs ?? [])
      .filter((o) => o.OutputKey && o.OutputValue !== undefined)
      .map((o) => [o.OutputKey as string, o.OutputValue as string]),
  );
}

export async function stackOutputs(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<Record<string, string> | undefined> {
  const stack = await describeStack(cfn, stackName);
  return stack ? outputsOf(stack) : undefined;
}

function formatEvent(e: StackEvent): string {
  const time = e.Timestamp ? e.Timestamp.toISOString().slice(11, 19) : '--:--:--';
  const reason = e.ResourceStatusReason ? `  ${e.ResourceStatusReason}` : '';
  return `${time} ${e.ResourceStatus ?? '?'} ${e.LogicalResourceId ?? '?'} (${e.ResourceType ?? '?'})${reason}`;
}

function formatChange(c: ChangeSummary): string {
  const replace =
    c.replacement === 'True'
      ? '  [REPLACEMENT]'
      : c.replacement === 'Conditional'
        ? '  [may replace]'
        : '';
  return `${c.action.padEnd(7)} ${c.logicalId} (${c.type})${replace}`;
}

/** Streams a stack's new events: remembers what it has printed, prints the rest oldest first. */
export class EventStream {
  readonly #cfn: CloudFormationClient;
  readonly #stackName: string;
  readonly #seen = new Set<string>();
  readonly events: StackEvent[] = [];
  constructor(cfn: CloudFormationClient, stackName: string) {
    this.#cfn = cfn;
    this.#stackName = stackName;
  }

  /**
   * Marks every existing event as seen, so only events from now on are reported and counted:
   * those of a wait before (another run's, settling) are neither this run's movement nor its
   * failure reasons.
   */
  async baseline(): Promise<void> {
    for (const e of await this.#fetch()) if (e.EventId) this.#seen.add(e.EventId);
    this.events.length = 0;
  }

  async poll(print: (line: string) => void): Promise<void> {
    const fresh = (await this.#fetch()).filter((e) => e.EventId && !this.#seen.has(e.EventId));
    fresh.reverse(); // the API answers newest first
    for (const e of fresh) {
      this.#seen.add(e.EventId as string);
      this.events.push(e);
      print(formatEvent(e));
    }
  }

  /** The failed resources' reasons, cancellations left out (they only echo another failure). */
  failureReasons(): string[] {
    return this.events
      .filter((e) => e.ResourceStatus?.endsWith('FAILED') && e.ResourceStatusReason)
      .filter((e) => !CANCELLED.test(e.ResourceStatusReason ?? ''))
      .filter((e) => e.LogicalResourceId !== this.#stackName || !e.ResourceType?.includes('Stack'))
      .map((e) => `${e.LogicalResourceId} (${e.ResourceType}): ${e.ResourceStatusReason}`);
  }

  async #fetch(): Promise<StackEvent[]> {
    try {
      const out = await this.#cfn.send(
        new DescribeStackEventsCommand({ StackName: this.#stackName }),
      );
      return out.StackEvents ?? [];
    } catch (error) {
      if (isMissingStack(error)) return [];
      throw error;
    }
  }
}

/** Waits for a stack to leave *_IN_PROGRESS, streaming its events. Returns the final stack. */
async function waitForStack(options: {
  cfn: CloudFormationClient;
  stackName: string;
  timeoutMs: number;
  log: Progress;
  events: EventStream;
  backoff?: BackoffOptions;
  /** Deleting: a stack that disappears is done. */
  deleting?: boolean;
  /**
   * After ExecuteChangeSet the stack may still show its previous status for a moment (a new
   * stack stays REVIEW_IN_PROGRESS): a final status only counts once the stack has moved.
   */
  previousStatus?: string;
}): Promise<Stack | undefined> {
  const { cfn, stackName, log, events } = options;
  // Seen in progress since the wait began: the stack has moved, whatever its events say.
  let seenInProgress = false;
  return waitUntil<Stack | undefined>({
    what: `stack ${stackName}`,
    timeoutMs: options.timeoutMs,
    ...options.backoff,
    onState: (state) => log.info(`${stackName}: ${state}`),
    poll: async () => {
      await events.poll((line) => log.info(line));
      const stack = await describeStack(cfn, stackName);
      if (!stack) {
        if (options.deleting) return { done: true, value: undefined };
        return { done: false, state: 'not created yet' };
      }
      const status = stack.StackStatus ?? 'UNKNOWN';
      if (isInProgress(status)) {
        seenInProgress = true;
        return { done: false, state: status };
      }
      const moved = seenInProgress || events.events.length > 0 || status !== options.previousStatus;
      if (options.previousStatus !== undefined && (!moved || status === 'REVIEW_IN_PROGRESS')) {
        return { done: false, state: `${status} (execution not started yet)` };
      }
      return { done: true, value: stack };
    },
  });
}

async function waitForChangeSet(
  cfn: CloudFormationClient,
  stackName: string,
  changeSetName: string,
  timeoutMs: number,
  backoff: BackoffOptions | undefined,
): Promise<DescribeChangeSetCommandOutput> {
  return waitUntil({
    what: `change set ${changeSetName} of ${stackName}`,
    timeoutMs,
    initialDelayMs: 1_000,
    maxDelayMs: 5_000,
    ...backoff,
    poll: async () => {
      const out = await cfn.send(
        new DescribeChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetName }),
      );
      const status = out.Status ?? 'UNKNOWN';
      if (status === 'CREATE_COMPLETE' || status === 'FAILED') return { done: true, value: out };
      return { done: false, state: status };
    },
  });
}

function summarise(changes: Change[] | undefined): ChangeSummary[] {
  return (changes ?? []).flatMap((c) =>
    c.ResourceChange
      ? [
          {
            action: c.ResourceChange.Action ?? '?',
            logicalId: c.ResourceChange.LogicalResourceId ?? '?',
            type: c.ResourceChange.ResourceType ?? '?',
            replacement: c.ResourceChange.Replacement,
          },
        ]
      : [],
  );
}

/** One deployStack call: its options, its event stream and what is left of its time. */
interface Run extends DeployStackOptions {
  events: EventStream;
  remaining(): number;
}

/** Creates or updates a stack through a change set. Throws StackDeployError on failure. */
export async function deployStack(options: DeployStackOptions): Promise<DeployStackResult> {
  const started = Date.now();
  const run: Run = {
    ...options,
    events: new EventStream(options.cfn, options.stackName),
    remaining: () => Math.max(1_000, options.timeoutMs - (Date.now() - started)),
  };
  const existing = await settledStack(run);
  const type = !existing || existing.StackStatus === 'REVIEW_IN_PROGRESS' ? 'CREATE' : 'UPDATE';
  // Unique per run (two runs in the same second must not collide), and sortable by time.
  const changeSetName = `deploy-${new Date().toISOString().replace(/[^0-9]/g, '')}-${process.pid}`;
  const changes = await prepareChangeSet(run, type, changeSetName);
  if (changes === 'none') {
    run.log.ok(`${run.stackName}: no changes`);
    const status = existing?.StackStatus ?? '?';
    return {
      stackName: run.stackName,
      action: 'none',
      status,
      outputs: outputsOf(existing),
      changes: [],
    };
  }
  run.log.info(`${run.stackName}: change set ${changeSetName} (${changes.length} changes):`);
  for (const c of changes) run.log.info(`  ${formatChange(c)}`);
  const final = await executeChangeSet(run, changeSetName, existing?.StackStatus);
  const status = final?.StackStatus ?? 'UNKNOWN';
  if (!isSuccess(status)) {
    const reasons = run.events.failureReasons();
    if (final?.StackStatusReason && !reasons.length) reasons.push(final.StackStatusReason);
    throw new StackDeployError(
      run.stackName,
      status,
      reasons.length ? reasons : ['no failure event found'],
    );
  }
  run.log.ok(`${run.stackName}: ${status}`);
  const action = type === 'CREATE' ? 'create' : 'update';
  return { stackName: run.stackName, action, status, outputs: outputsOf(final), changes };
}

/** The stack as a change set can start from: settled, and recreatable if its creation failed. */
async function settledStack(run: Run): Promise<Stack | undefined> {
  const { cfn, stackName, log } = run;
  let existing = await describeStack(cfn, stackName);
  if (existing && isInProgress(existing.StackStatus ?? '')) {
    log.info(`${stackName} is ${existing.StackStatus}: waiting for it to settle first`);
    await run.events.baseline();
    // A stack being deleted is done when it is gone: then there is nothing to start from.
    const deleting = existing.StackStatus === 'DELETE_IN_PROGRESS';
    existing = await waitForStack({
      ...run,
      timeoutMs: run.remaining(),
      deleting,
      ...withBackoff(run),
    });
  }
  // A stack whose first creation failed can only be deleted; recreating it is what the user wants.
  if (existing?.StackStatus === 'ROLLBACK_COMPLETE') {
    log.warn(
      `${stackName} is ROLLBACK_COMPLETE (its creation failed earlier): deleting it to recreate`,
    );
    await deleteStack({ cfn, stackName, log, timeoutMs: run.remaining(), ...withBackoff(run) });
    existing = undefined;
  }
  if (existing?.StackStatus === 'DELETE_FAILED' || existing?.StackStatus === 'ROLLBACK_FAILED') {
    throw new StackDeployError(stackName, existing.StackStatus, [
      existing.StackStatusReason ?? 'the stack must be repaired or deleted by hand first',
    ]);
  }
  return existing;
}

/** Creates the change set and waits for it: its changes, or 'none' when there is nothing to do. */
async function prepareChangeSet(
  run: Run,
  type: 'CREATE' | 'UPDATE',
  changeSetName: string,
): Promise<ChangeSummary[] | 'none'> {
  const { cfn, stackName } = run;
  run.log.info(
    `${stackName}: creating ${type === 'CREATE' ? 'a CREATE' : 'an UPDATE'} change set ${changeSetName}`,
  );
  try {
    await cfn.send(
      new CreateChangeSetCommand({
        StackName: stackName,
        ChangeSetName: changeSetName,
        ChangeSetType: type,
        TemplateBody: run.templateBody,
        Parameters: Object.entries(run.parameters ?? {}).map(([ParameterKey, ParameterValue]) => ({
          ParameterKey,
          ParameterValue,
        })),
        ...(run.capabilities ? { Capabilities: run.capabilities } : {}),
        Tags: Object.entries(run.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  } catch (error) {
    // CloudFormation reports "no changes" as a FAILED change set; some implementations (moto,
    // older endpoints) reject the request instead. Both mean the stack is already as asked.
    if (type === 'UPDATE' && NO_CHANGES.test((error as Error).message)) return 'none';
    throw new StackDeployError(stackName, 'change set rejected', [(error as Error).message]);
  }
  const changeSet = await waitForChangeSet(
    cfn,
    stackName,
    changeSetName,
    run.remaining(),
    run.backoff,
  );
  const changes = summarise(changeSet.Changes);
  const noChanges =
    changeSet.Status === 'FAILED'
      ? type === 'UPDATE' && NO_CHANGES.test(changeSet.StatusReason ?? '')
      : type === 'UPDATE' && changes.length === 0;
  if (noChanges) {
    await cfn
      .send(new DeleteChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetName }))
      .catch(() => undefined);
    return 'none';
  }
  if (changeSet.Status === 'FAILED') {
    throw new StackDeployError(stackName, 'change set FAILED', [
      changeSet.StatusReason ?? 'no reason given',
    ]);
  }
  return changes;
}

/** Executes the change set and waits for the stack to reach a final status. */
async function executeChangeSet(
  run: Run,
  changeSetName: string,
  previousStatus: string | undefined,
): Promise<Stack | undefined> {
  const { cfn, stackName, events, log } = run;
  await events.baseline();
  try {
    await cfn.send(
      new ExecuteChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetName }),
    );
  } catch (error) {
    await events.poll((line) => log.info(line)).catch(() => undefined);
    throw new StackDeployError(stackName, 'execute failed', [
      ...events.failureReasons(),
      (error as Error).message,
    ]);
  }
  try {
    return await waitForStack({
      cfn,
      stackName,
      log,
      events,
      timeoutMs: run.remaining(),
      previousStatus: previousStatus ?? 'REVIEW_IN_PROGRESS',
      ...withBackoff(run),
    });
  } catch (error) {
    if (error instanceof WaitTimeoutError) {
      throw new StackDeployError(stackName, `still ${error.lastState} after the timeout`, [
        ...events.failureReasons(),
        'CloudFormation continues on its own; watch it in the console or re-run this command later',
      ]);
    }
    throw error;
  }
}

function withBackoff(options: { backoff?: BackoffOptions | undefined }) {
  return options.backoff ? { backoff: options.backoff } : {};
}

/** Deletes a stack and waits for it to go. Returns 'absent' when there was nothing to delete. */
export async function deleteStack(options: {
  cfn: CloudFormationClient;
  stackName: string;
  timeoutMs: number;
  log: Progress;
  backoff?: BackoffOptions;
}): Promise<'deleted' | 'absent'> {
  const { cfn, stackName, log } = options;
  const existing = await describeStack(cfn, stackName);
  if (!existing) return 'absent';
  const events = new EventStream(cfn, stackName);
  await events.baseline();
  await cfn.send(new DeleteStackCommand({ StackName: existing.StackId ?? stackName }));
  const final = await waitForStack({
    cfn,
    stackName,
    log,
    events,
    deleting: true,
    timeoutMs: options.timeoutMs,
    ...withBackoff(options),
  });
  if (final && final.StackStatus !== 'DELETE_COMPLETE') {
    const reasons = events.failureReasons();
    throw new StackDeployError(
      stackName,
      final.StackStatus ?? 'UNKNOWN',
      reasons.length ? reasons : [final.StackStatusReason ?? 'no reason given'],
    );
  }
  log.ok(`${stackName}: deleted`);
  return 'deleted';
}
