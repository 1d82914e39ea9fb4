// The whole local chain (HTTP API, ALB, replicas) holds a fixed load with zero errors: a
// bounded run (MAX_REQUESTS or MAX_MS, whichever first) at fixed concurrency over keep-alive
// connections, with the stage's throttling raised so only errors of the chain count. The
// latency percentiles and the rate are printed; they depend on the machine and on what else
// runs on it, so they are recorded (docs/reliability.md), not asserted.
//
// A deliberate break must be caught: the same check over a stack left with the template's
// default throttling (100 requests/s, burst 200) reports the stage's 429s.
import { afterAll, describe, expect, it } from 'vitest';
import { manifestService } from '../helpers/workspace.ts';
import {
  describeFailures,
  FIXTURE_PATH,
  fixtureWorkspace,
  type LoadResult,
  ms,
  percentiles,
  quietStack,
  runLoad,
  stackForSuite,
} from './helpers.ts';

const CONCURRENCY = 16;
const MAX_REQUESTS = 20_000;
const MAX_MS = 15_000;

const books = manifestService('book-service');

function loadViolations(result: LoadResult): string[] {
  if (result.requests === 0) return ['no request was sent'];
  if (result.failures.length === 0) return [];
  return [
    `${result.failures.length} of ${result.requests} requests failed: ${describeFailures(result.failures)}`,
  ];
}

describe('load through the HTTP API, the ALB and book-service', () => {
  // Access logging stays on: it is part of the request path being measured.
  const suite = stackForSuite({ healthCheckScale: 0.1 });

  it(`answers ${MAX_REQUESTS} requests (or ${MAX_MS / 1000} s) at concurrency ${CONCURRENCY} with zero errors`, async () => {
    const url = `${suite.stack.apiUrl}${books.pathPrefix}`;
    // A short warm-up: JIT and the keep-alive pools, as a deployed stack would be warm.
    await runLoad({ url, concurrency: CONCURRENCY, maxRequests: 500, maxMs: 2_000 });
    const result = await runLoad({
      url,
      concurrency: CONCURRENCY,
      maxRequests: MAX_REQUESTS,
      maxMs: MAX_MS,
    });
    const p = percentiles(result.latencies);
    const rate = result.requests / (result.elapsedMs / 1000);
    console.log(
      `load: ${result.requests} requests in ${ms(result.elapsedMs)} at concurrency ${CONCURRENCY}: ` +
        `${rate.toFixed(0)} req/s, ${result.failures.length} errors; ` +
        `p50 ${ms(p.p50)} p90 ${ms(p.p90)} p99 ${ms(p.p99)} max ${ms(p.max)}`,
    );
    expect(loadViolations(result)).toEqual([]);
    // The bound that stopped the run was one of ours, not a stall.
    expect(result.requests === MAX_REQUESTS || result.elapsedMs >= MAX_MS).toBe(true);
  });
});

describe('the same check on a deliberately broken setup', () => {
  const fixture = fixtureWorkspace({ realServices: false });
  afterAll(() => fixture.remove());

  it("reports the stage's 429s when its default throttling is left in place", async () => {
    const stack = await quietStack(fixture.root);
    try {
      const result = await runLoad({
        url: `${stack.apiUrl}${FIXTURE_PATH}`,
        concurrency: CONCURRENCY,
        maxRequests: 2_000,
        maxMs: 3_000,
      });
      expect(loadViolations(result).join('\n')).toMatch(/requests failed: 429/);
    } finally {
      await stack.stop();
    }
  }, 20_000);
});
