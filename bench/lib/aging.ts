// The verdict of bench/aging.ts: whether a long-lived server's CPU per request stepped up and
// stayed there. A server's windows on each route are compared late against early: the step found
// on 2026-12-07 (V8's memory reducer, bench/README.md "The slowdown found") was 20-30% on every
// route at once and stayed, where a noisy window rises and comes back; so a step is a median
// of the late windows at least STEP_RATIO times the median of the early ones, on most routes.
import { ROUTE_IDS, type RouteId } from './routes.ts';
import { median } from './stats.ts';

/** Late windows this far above early ones are a step (the step found was 1.2-1.3x). */
export const STEP_RATIO = 1.15;

/** At most this many windows of a route on each side of the comparison. */
export const SIDE_WINDOWS = 3;

/** One server's CPU per request (us) in each of its windows, route by route, in order. */
export interface AgingSeries {
  label: string;
  /** A control runs with the service's memory-reducer option withheld. */
  control: boolean;
  windows: Record<RouteId, number[]>;
}

export interface RouteChange {
  early: number;
  late: number;
  ratio: number;
}

export interface AgingResult {
  label: string;
  control: boolean;
  routes: Record<RouteId, RouteChange>;
  stepped: boolean;
}

/** How many windows each side takes when a route has `count`: never the same window twice. */
export function sideWindows(count: number): number {
  return Math.max(0, Math.min(SIDE_WINDOWS, Math.floor(count / 2)));
}

export function routeChange(windows: readonly number[]): RouteChange {
  const side = sideWindows(windows.length);
  if (side === 0) throw new Error(`a route needs at least 2 windows, it has ${windows.length}`);
  const early = median(windows.slice(0, side));
  const late = median(windows.slice(-side));
  return { early, late, ratio: late / early };
}

/** A server stepped when most of its routes' late windows are STEP_RATIO above their early ones. */
export function judge(series: AgingSeries): AgingResult {
  const routes = Object.fromEntries(
    ROUTE_IDS.map((route) => [route, routeChange(series.windows[route])]),
  ) as Record<RouteId, RouteChange>;
  const up = ROUTE_IDS.filter((route) => routes[route].ratio >= STEP_RATIO).length;
  return {
    label: series.label,
    control: series.control,
    routes,
    stepped: up * 2 > ROUTE_IDS.length,
  };
}

export type AgingVerdict = 'SLOWED' | 'HELD' | 'INCONCLUSIVE';

/**
 * SLOWED when a server running as the container runs it stepped; HELD when none did and a
 * control did (so this run's load and length could show the step); INCONCLUSIVE when nothing
 * stepped at all: when the memory reducer strikes depends on the pattern of load, and a run in
 * which it did not strike says nothing either way.
 */
export function verdict(results: readonly AgingResult[]): AgingVerdict {
  if (results.some((r) => !r.control && r.stepped)) return 'SLOWED';
  return results.some((r) => r.control && r.stepped) ? 'HELD' : 'INCONCLUSIVE';
}

/** The verdict with what it rests on, for the report's last line. */
export function summary(results: readonly AgingResult[]): string {
  const count = (control: boolean) => {
    const group = results.filter((r) => r.control === control);
    return { stepped: group.filter((r) => r.stepped).length, of: group.length };
  };
  const service = count(false);
  const control = count(true);
  const controls = `${control.stepped} of ${control.of} controls (option withheld)`;
  switch (verdict(results)) {
    case 'SLOWED':
      return `SLOWED: ${service.stepped} of ${service.of} book-service processes stepped (late windows >= ${STEP_RATIO}x early on most routes); ${controls} stepped`;
    case 'HELD':
      return `HELD: no book-service process stepped; ${controls} did, so this run could show a step`;
    default:
      return control.of === 0
        ? `INCONCLUSIVE: no book-service process stepped, and no control ran to show this run could see a step (--control)`
        : `INCONCLUSIVE: no process stepped, controls included: the memory reducer did not strike in this run (when it does depends on the pattern of load); run longer (--seconds)`;
  }
}

/**
 * How many windows each server gets in a run of about `seconds`, each server loaded for one window
 * of `windowSeconds` per cycle: the same number on every route, at least two.
 */
export function windowsPerServer(seconds: number, windowSeconds: number, servers: number): number {
  const cycles = Math.ceil(seconds / (windowSeconds * servers));
  return Math.max(2, Math.ceil(cycles / ROUTE_IDS.length)) * ROUTE_IDS.length;
}
