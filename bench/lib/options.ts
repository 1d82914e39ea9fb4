// Command-line options. The defaults (a warm-up of up to 8 s per row and route, seven
// interleaved rounds of 2 s, 50 connections, five paired rounds, fifteen fresh starts per row)
// keep the full run under ten minutes; --guard is the check of book-service's CPU per request
// against Fastify's in about a minute.
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { LoadGenerator } from './load.ts';
import { ROUTE_IDS, type RouteId } from './routes.ts';
import { ROW_IDS, type RowId } from './targets.ts';

export interface Options {
  rounds: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  startupSamples: number;
  /** Rounds with book-service and Fastify loaded at once (paired.ts); 0: none. */
  pairedRounds: number;
  rows: RowId[];
  routes: RouteId[];
  loadGenerator: LoadGenerator | 'auto';
  pin: boolean;
  outDir: string;
  /** The run refuses to start when its own estimate exceeds this, and is stopped past it. */
  maxSeconds: number;
  /** The regression guard: paired rounds of book-service and Fastify only, exit 1 above 1.1x. */
  guard: boolean;
  help: boolean;
}

/** The guard's paired rounds, each on a fresh pair of servers. */
export const GUARD_PAIRED_ROUNDS = 3;

export const USAGE = `Usage: npm run bench -- [options]   (or: npx node bench/run.ts [options])

  --rounds N            interleaved rounds of every row (default 7; --quick: 1)
  --duration S          seconds of load per row and route per round (default 2; --quick: 1)
  --warmup S            at most S seconds of unrecorded load per row and route before round 1,
                        and per route on each paired round's fresh servers, in 1 s steps until
                        CPU per request stops falling (default 8; --quick: 0)
  --connections N       concurrent connections (default 50; --quick: 10)
  --startup-samples N   fresh starts per row for start-to-first-200 and idle RSS (default 15,
                        the local stack at most 5; --quick: 1)
  --paired-rounds N     rounds loading book-service and Fastify at once, each on servers
                        started for it, for their CPU per request (default 5; --guard: 3;
                        --quick: 1; 0: none)
  --rows a,b,...        rows to run, of ${ROW_IDS.join(', ')} (default: all)
  --routes a,b,...      routes to load, of ${ROUTE_IDS.join(', ')} (default: all; nginx, local
                        and hono are loaded on list only)
  --loadgen NAME        auto (wrk when installed), wrk or autocannon
  --no-pin              do not pin servers and load generator to different CPUs
  --out-dir DIR         where the JSON result goes (default bench/results)
  --max-seconds N       upper bound on the whole run (default 900)
  --quick               a few-seconds smoke of the harness (CI)
  --guard               the regression guard (about a minute): book-service and Fastify only,
                        paired rounds on each route; exits 1 when book-service's CPU per
                        request is above 1.1x Fastify's on any route
`;

/** A flag's whole number, at least `min`; `fallback` when the flag is absent. */
export function positive(
  name: string,
  value: string | undefined,
  fallback: number,
  min = 1,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
  return n;
}

/** A flag's comma-separated list, each item one of `known`; all of them when absent. */
export function listOf<T extends string>(
  name: string,
  value: string | undefined,
  known: readonly T[],
): T[] {
  const items = (value ?? known.join(','))
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  for (const item of items) {
    if (!(known as readonly string[]).includes(item)) {
      throw new Error(`--${name}: unknown value "${item}" (known: ${known.join(', ')})`);
    }
  }
  return [...new Set(items)] as T[];
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'startup-samples': { type: 'string' },
      'paired-rounds': { type: 'string' },
      rows: { type: 'string' },
      routes: { type: 'string' },
      loadgen: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
      'out-dir': { type: 'string' },
      'max-seconds': { type: 'string' },
      quick: { type: 'boolean', default: false },
      guard: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const { quick, guard } = values;
  if (guard && (values.rows !== undefined || values.rounds !== undefined || quick)) {
    throw new Error(
      '--guard runs book-service and Fastify only, in paired rounds: drop --rows, --rounds and --quick',
    );
  }
  const rows = guard ? (['service', 'fastify'] as RowId[]) : listOf('rows', values.rows, ROW_IDS);
  const routes = listOf('routes', values.routes, ROUTE_IDS);
  const loadGenerator = values.loadgen ?? 'auto';
  if (!['auto', 'wrk', 'autocannon'].includes(loadGenerator)) {
    throw new Error('--loadgen must be auto, wrk or autocannon');
  }
  return {
    // The guard only pairs: no interleaved rounds. Its three paired rounds (three fresh pairs of
    // servers, warmed up each) keep it about a minute long.
    rounds: guard ? 0 : positive('rounds', values.rounds, quick ? 1 : 7),
    durationSeconds: positive('duration', values.duration, quick ? 1 : 2),
    warmupSeconds: positive('warmup', values.warmup, quick ? 0 : 8, 0),
    connections: positive('connections', values.connections, quick ? 10 : 50),
    startupSamples: positive(
      'startup-samples',
      values['startup-samples'],
      guard ? 0 : quick ? 1 : 15,
      0,
    ),
    pairedRounds: positive(
      'paired-rounds',
      values['paired-rounds'],
      guard ? GUARD_PAIRED_ROUNDS : quick ? 1 : 5,
      0,
    ),
    rows: rows as RowId[],
    // In their fixed order, whatever order they were given in.
    routes: ROUTE_IDS.filter((route) => routes.includes(route)),
    loadGenerator: loadGenerator as Options['loadGenerator'],
    pin: !values['no-pin'],
    outDir: path.resolve(values['out-dir'] ?? path.join(import.meta.dirname, '..', 'results')),
    maxSeconds: positive('max-seconds', values['max-seconds'], 900),
    guard,
    help: values.help,
  };
}
