// The internal ALB's listener rules against the near misses a person would try, from both
// sides. Copilot's `http.path: api/books` becomes the path patterns `/api/books` and
// `/api/books/*`; "The comparison is case sensitive", `*` "matches 0 or more characters", and
// the pattern "is compared only to the path of the URL, not to its query string" (CloudFormation
// reference, AWS::ElasticLoadBalancingV2::ListenerRule PathPatternConfig), so `/api/books/` is
// taken and `/API/books` is not. Host names compare in any case (HostHeaderConfig), whole: a
// name that only starts or ends like a rule's host is another name.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LoadBalancer } from '../../scripts/local/alb/load-balancer.ts';
import type { TargetGroup } from '../../scripts/local/alb/target-group.ts';

const ALB = 'internal-Bookst-Publi-1.us-east-1.elb.amazonaws.com';
const HOST = 'books.test.bookstore.internal';
const PREFIX = '/api/books';

// Built in each test, never when the file loads (static code to Stryker: vitest.mutate.config.ts).
const matched = (host: string, url: string) =>
  new LoadBalancer(ALB, [
    { service: 'books', pathPrefix: PREFIX, hosts: [HOST], group: {} as TargetGroup },
  ]).match(host, url)?.service;

describe('a listener rule', () => {
  it('takes its path with a trailing slash, and refuses another case or another path', () => {
    expect(matched(ALB, '/api/books/')).toBe('books');
    expect(matched(ALB, '/api/books//1')).toBe('books');
    expect(matched(ALB, '/api/books?')).toBe('books');
    for (const url of [
      '/API/books',
      '/api/Books',
      '/api/books.json',
      '/api/books-1',
      '//api/books',
      '/api//books',
      'api/books',
      '/api/bookz',
      '',
    ]) {
      expect({ url, rule: matched(ALB, url) }).toEqual({ url, rule: undefined });
    }
  });

  it('takes its host in any case, with a port, and refuses one that only starts or ends like it', () => {
    expect(matched(HOST.toUpperCase(), PREFIX)).toBe('books');
    expect(matched(`${HOST}:80`, PREFIX)).toBe('books');
    for (const host of [
      `x${HOST}`,
      `${HOST}x`,
      `${HOST}.evil.test`,
      `evil.${HOST}`,
      HOST.slice(1),
      HOST.slice(0, -1),
      `${ALB}.evil.test`,
      '',
    ]) {
      expect({ host, rule: matched(host, PREFIX) }).toEqual({ host, rule: undefined });
    }
  });

  it('takes a path exactly when it is the prefix, or the prefix then / or ? (property)', () => {
    const head = fc.constantFrom(PREFIX, PREFIX.slice(0, -1), PREFIX.toUpperCase(), '/api', '');
    fc.assert(
      fc.property(head, fc.string({ maxLength: 12 }), (start, tail) => {
        const url = `${start}${tail}`;
        const expected =
          url.startsWith(PREFIX) &&
          (url.length === PREFIX.length || ['/', '?'].includes(url[PREFIX.length] as string));
        expect(matched(ALB, url) === 'books').toBe(expected);
        const below = `${PREFIX}/${tail}`;
        expect(matched(ALB, below)).toBe('books');
      }),
    );
  });
});
