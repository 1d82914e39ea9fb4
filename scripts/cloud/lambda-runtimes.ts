// Lambda's runtime dates, as data: a fact that expires, so it carries where it was read and when,
// and every judgement takes the day to judge at (tests pick their own). Lambda refuses to create
// a function on a runtime from its "block function create" date and to update one from its
// "block function update" date ("The runtime parameter of nodejs20.x is no longer supported for
// creating or updating AWS Lambda functions": aws/copilot-cli#4940 shows the shape for nodejs12.x).
// A runtime missing from the table is never assumed fine: its dates must be read and added.
import type { CfnTemplate } from '../workspace/template.ts';

export const RUNTIME_TABLE = {
  source: 'https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html',
  title: 'Building Lambda functions with Node.js (AWS Lambda developer guide), runtime table',
  read: '2026-12-06',
  runtimes: {
    'nodejs24.x': {
      deprecation: '2028-04-30',
      blockCreate: '2028-06-01',
      blockUpdate: '2028-07-01',
    },
    'nodejs22.x': {
      deprecation: '2027-04-30',
      blockCreate: '2027-06-01',
      blockUpdate: '2027-07-01',
    },
    'nodejs20.x': {
      deprecation: '2026-04-30',
      blockCreate: '2026-08-31',
      blockUpdate: '2026-09-30',
    },
  },
} as const satisfies {
  source: string;
  title: string;
  read: string;
  runtimes: Record<string, RuntimeDates>;
};

export interface RuntimeDates {
  deprecation: string;
  blockCreate: string;
  blockUpdate: string;
}

/** How far ahead of Lambda's block-create date a runtime stops being acceptable here. */
export const MARGIN_DAYS = 180;

/**
 * What Lambda does with a runtime on a given day, worst first:
 * `update-blocked` (no create, no update), `create-blocked` (no create; updates still pass),
 * `deprecated` (no patches), `soon` (within MARGIN_DAYS of block-create), `ok`; `unknown` when the
 * table has no dates for it.
 */
export type RuntimeState =
  | 'update-blocked'
  | 'create-blocked'
  | 'deprecated'
  | 'soon'
  | 'ok'
  | 'unknown';

export interface RuntimeVerdict {
  runtime: string;
  state: RuntimeState;
  dates?: RuntimeDates;
  /** One line a user reads: the runtime, what Lambda does, from which date. */
  summary: string;
}

const DAY_MS = 86_400_000;
const dayOf = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

/** `2026-12-06` for a Date or epoch ms, in UTC (the table's dates are days, not instants). */
export function isoDay(when: Date | number): string {
  return new Date(when).toISOString().slice(0, 10);
}

export function runtimeVerdict(runtime: string, today: string): RuntimeVerdict {
  const dates = (RUNTIME_TABLE.runtimes as Record<string, RuntimeDates>)[runtime];
  if (!dates) {
    return {
      runtime,
      state: 'unknown',
      summary: `${runtime}: no dates for it in the runtime table (${RUNTIME_TABLE.source}, read ${RUNTIME_TABLE.read})`,
    };
  }
  const now = dayOf(today);
  const blocks = `function create blocked from ${dates.blockCreate}, update from ${dates.blockUpdate}`;
  const state: RuntimeState =
    now >= dayOf(dates.blockUpdate)
      ? 'update-blocked'
      : now >= dayOf(dates.blockCreate)
        ? 'create-blocked'
        : now >= dayOf(dates.deprecation)
          ? 'deprecated'
          : now >= dayOf(dates.blockCreate) - MARGIN_DAYS * DAY_MS
            ? 'soon'
            : 'ok';
  const said: Record<Exclude<RuntimeState, 'unknown'>, string> = {
    'update-blocked': `Lambda refuses to create or update functions on it since ${dates.blockUpdate} (create since ${dates.blockCreate})`,
    'create-blocked': `Lambda refuses to create functions on it since ${dates.blockCreate}, and to update them from ${dates.blockUpdate}`,
    deprecated: `deprecated since ${dates.deprecation}; ${blocks}`,
    soon: `${blocks}, within ${MARGIN_DAYS} days of ${today}`,
    ok: `deprecated from ${dates.deprecation}; ${blocks}`,
  };
  return { runtime, state, dates, summary: `${runtime}: ${said[state]}` };
}

/** Lambda refuses it for a new function on that day (or has no dates for it). */
export const refusedForCreate = (v: RuntimeVerdict) =>
  v.state === 'create-blocked' || v.state === 'update-blocked';

/**
 * The runtime to move to: of the Node.js runtimes acceptable on that day (`ok`), the one Lambda
 * keeps longest. Undefined when none is: then the table needs a newer runtime.
 */
export function recommendedRuntime(today: string): string | undefined {
  const candidates = Object.entries(RUNTIME_TABLE.runtimes as Record<string, RuntimeDates>)
    .filter(([name]) => name.startsWith('nodejs') && runtimeVerdict(name, today).state === 'ok')
    .sort(([, a], [, b]) => dayOf(b.blockCreate) - dayOf(a.blockCreate));
  return candidates[0]?.[0];
}

const LAMBDA_TYPES = new Set(['AWS::Lambda::Function', 'AWS::Serverless::Function']);

/** The Lambda functions of a template that name their runtime: logical id and runtime. */
export function lambdaRuntimes(template: CfnTemplate): { fn: string; runtime: string }[] {
  return Object.entries(template.Resources ?? {}).flatMap(([fn, r]) => {
    const runtime = literalRuntime(template, r?.Properties?.Runtime);
    return LAMBDA_TYPES.has(r?.Type) && runtime !== undefined ? [{ fn, runtime }] : [];
  });
}

/**
 * A Runtime written as a literal, or as a `Ref` to a parameter: its Default, what a deploy
 * without that parameter set creates the function on (a runtime from a parameter was not
 * judged at all). Other intrinsic functions are not resolved.
 */
function literalRuntime(template: CfnTemplate, runtime: unknown): string | undefined {
  if (typeof runtime === 'string') return runtime;
  const ref = (runtime as { Ref?: unknown } | undefined)?.Ref;
  const fallback = typeof ref === 'string' ? template.Parameters?.[ref]?.Default : undefined;
  return typeof fallback === 'string' ? fallback : undefined;
}
