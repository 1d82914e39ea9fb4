// The two routing decisions of the local stack that need no socket, at their exact edges: the
// internal ALB's listener rules (Copilot's `http.path` becomes the patterns `/path` and
// `/path/*`, matched on the ALB's own name or the service's `<svc>.<env>.<app>.internal`, any
// other Host getting the default action's 503; where paths overlap the rule deployed first wins,
// as Copilot gives each new rule the highest priority + 1) and the HTTP API stage's token bucket (API Gateway,
// "Throttle requests to your HTTP APIs": a bucket of `burst` tokens refilled at `rate` per
// second). The stack and gateway-limit tests check the same through real requests.
import { describe, expect, it } from 'vitest';
import { type ListenerRule, LoadBalancer } from '../../scripts/local/alb/load-balancer.ts';
import type { TargetGroup } from '../../scripts/local/alb/target-group.ts';
import { TokenBucket } from '../../scripts/local/gateway/throttling.ts';

const ALB = 'internal-Bookst-Publi-1.us-east-1.elb.amazonaws.com';

function rule(service: string, pathPrefix: string): ListenerRule {
  return {
    service,
    pathPrefix,
    hosts: [`${service}.Test.bookstore.internal`],
    group: {} as TargetGroup,
  };
}

describe("the ALB's listener rules", () => {
  // In deploy order: books first, then the nested paper path. Built in each test, never when
  // the file loads (code run outside any test is static to Stryker: vitest.mutate.config.ts).
  const matched = (host: string, url: string) =>
    new LoadBalancer(ALB, [rule('books', '/api/books'), rule('paper', '/api/books/paper')]).match(
      host,
      url,
    )?.service;

  it('matches the prefix itself, a segment below it, or a query, and nothing else', () => {
    expect(matched(ALB, '/api/books')).toBe('books');
    expect(matched(ALB, '/api/books/1')).toBe('books');
    expect(matched(ALB, '/api/books?limit=1')).toBe('books');
    expect(matched(ALB, '/api/booksx')).toBeUndefined();
    expect(matched(ALB, '/api/book')).toBeUndefined();
    expect(matched(ALB, '/other/api/books')).toBeUndefined();
  });

  it('lets the rule deployed first win where paths overlap, as its priority is lower', () => {
    // alb-rule-priority-generator.js: a new rule gets the listener's highest priority + 1.
    expect(matched(ALB, '/api/books/paper')).toBe('books');
    expect(matched(ALB, '/api/books/paper/2')).toBe('books');
    const paperFirst = new LoadBalancer(ALB, [
      rule('paper', '/api/books/paper'),
      rule('books', '/api/books'),
    ]);
    expect(paperFirst.match(ALB, '/api/books/paper/2')?.service).toBe('paper');
    expect(paperFirst.match(ALB, '/api/books/paperback')?.service).toBe('books');
    expect(paperFirst.match(ALB, '/api/books/1')?.service).toBe('books');
  });

  it("accepts the ALB's name and each rule's own host, in any case, with a port", () => {
    expect(matched(ALB.toUpperCase(), '/api/books')).toBe('books');
    expect(matched(`${ALB}:8080`, '/api/books')).toBe('books');
    expect(matched('BOOKS.test.bookstore.internal', '/api/books')).toBe('books');
    expect(matched('paper.test.bookstore.internal', '/api/books/paper')).toBe('paper');
  });

  it("gives a rule's host only that rule, and any other host nothing", () => {
    expect(matched('paper.test.bookstore.internal', '/api/books/1')).toBeUndefined();
    expect(matched('books.test.bookstore.internal', '/api/books/paper')).toBe('books');
    expect(matched('wrong-host.invalid', '/api/books')).toBeUndefined();
  });
});

describe("the stage's token bucket", () => {
  it('lets a burst through at once, then one request per 1/rate seconds', () => {
    const bucket = new TokenBucket(10, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    // 10 per second: a token every 100 ms, not one ms earlier.
    expect(bucket.take(99)).toBe(false);
    expect(bucket.take(100)).toBe(true);
    expect(bucket.take(100)).toBe(false);
  });

  it('refills up to the burst and no further', () => {
    const bucket = new TokenBucket(1_000, 2, 0);
    expect(bucket.take(0) && bucket.take(0)).toBe(true);
    // A minute idle refills 60,000 tokens' worth, but the bucket holds two.
    const taken = [60_000, 60_000, 60_000].map((now) => bucket.take(now));
    expect(taken).toEqual([true, true, false]);
  });

  it('counts time from the last request, not from the start', () => {
    const bucket = new TokenBucket(1, 1, 0);
    expect(bucket.take(0)).toBe(true);
    expect(bucket.take(500)).toBe(false);
    // 1,000 ms after the first request, whatever was asked in between.
    expect(bucket.take(1_000)).toBe(true);
  });
});
