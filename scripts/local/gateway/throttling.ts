// The stage's route throttling: a token bucket per route with the stage's rate (tokens per
// second) and burst (bucket size), as API Gateway throttles ("Throttle requests to your HTTP
// APIs"); a request that finds its route's bucket empty gets the gateway's 429.
import type { HttpApiRoute } from '../../workspace/http-api-settings.ts';

/** Token bucket with API Gateway's rate (tokens per second) and burst (bucket size). */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly perMs: number;
  private readonly burst: number;

  constructor(rateLimit: number, burstLimit: number, now: number) {
    this.perMs = rateLimit / 1000;
    this.burst = burstLimit;
    this.tokens = burstLimit;
    this.last = now;
  }

  take(now: number): boolean {
    const refilled = this.tokens + (now - this.last) * this.perMs;
    this.tokens = Math.min(refilled, this.burst);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** One bucket per route, full at `now`. */
export function tokenBuckets(
  routes: readonly HttpApiRoute[],
  now: number,
): Map<HttpApiRoute, TokenBucket> {
  return new Map(
    routes.map((route) => [
      route,
      new TokenBucket(route.throttling.rateLimit, route.throttling.burstLimit, now),
    ]),
  );
}
