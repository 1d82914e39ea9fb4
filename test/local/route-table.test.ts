// The table `npm start` prints (scripts/local/route-table.ts), built in this process from the
// addon template's routes and an ALB with the manifests' two rules: each route with the rule a
// request on it lands on (asked of the ALB with a path the route accepts), the service and its
// targets with their states; a route no rule takes says what the ALB answers; columns aligned.
import { describe, expect, it } from 'vitest';
import { LoadBalancer } from '../../scripts/local/alb/load-balancer.ts';
import { type Clock, Target, TargetGroup } from '../../scripts/local/alb/target-group.ts';
import { formatRouteTable, samplePath } from '../../scripts/local/route-table.ts';
import {
  type HttpApiRoute,
  readHttpApiSettings,
} from '../../scripts/workspace/http-api-settings.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { testHealthCheck } from './health-settings.ts';

/** A clock on which nothing fires: targets stay in the state the test puts them in. */
const still: Clock = { setTimeout: () => undefined, clearTimeout: () => {} };

/** A target group with a target per port, registered ones first checked never ('initial'). */
function group(service: string, registered: number[], unused: number[] = []): TargetGroup {
  const g = new TargetGroup(
    service,
    testHealthCheck('/health'),
    1_000,
    {
      onStateChange: () => {},
    },
    { clock: still, probe: async () => ({ status: 200 }) },
  );
  for (const port of [...registered, ...unused]) {
    const target = new Target(port);
    g.add(target);
    if (registered.includes(port)) g.register(target);
  }
  return g;
}

/** The ALB as the stack builds it: one rule per service of the manifests, by its path. */
function albFor(groups: Record<string, TargetGroup>): LoadBalancer {
  const rules = loadWorkspace().services.map((s) => ({
    service: s.name,
    pathPrefix: s.pathPrefix,
    hosts: [],
    group: groups[s.name] ?? group(s.name, []),
  }));
  return new LoadBalancer('internal-bookstore-test.elb.localhost', rules);
}

const route = (routeKey: string, jwt = false) =>
  ({
    routeKey,
    path: routeKey === '$default' ? '' : routeKey.slice(routeKey.indexOf(' ') + 1),
    authorizer: jwt ? { logicalId: 'JwtAuthorizer' } : null,
  }) as HttpApiRoute;

describe('a path each route accepts', () => {
  it.each([
    ['ANY /api/books', '/api/books'],
    ['GET /api/books/{id}', '/api/books/1'],
    ['ANY /api/books/{proxy+}', '/api/books/x'],
    ['GET /api/{group}/{id}/{rest+}', '/api/1/1/x'],
  ])('%s: %s', (key, path) => {
    expect(samplePath(route(key))).toBe(path);
  });

  it('none for $default, which no path picks out', () => {
    expect(samplePath(route('$default'))).toBeUndefined();
  });
});

describe('the route table', () => {
  it('lists every route of the template on the rule and targets of its service', () => {
    const books = group('book-service', [4101, 4102], [4103]);
    const authors = group('author-service', [4201]);
    const alb = albFor({ 'book-service': books, 'author-service': authors });
    const table = formatRouteTable(readHttpApiSettings().routes, alb).split('\n');
    expect(table).toEqual([
      'HTTP API route             ALB rule (path)               service         replicas',
      'ANY /api/authors           /api/authors, /api/authors/*  author-service  127.0.0.1:4201 (initial)',
      'ANY /api/books             /api/books, /api/books/*      book-service    127.0.0.1:4101 (initial), 127.0.0.1:4102 (initial), 127.0.0.1:4103 (unused)',
      'ANY /api/authors/{proxy+}  /api/authors, /api/authors/*  author-service  127.0.0.1:4201 (initial)',
      'ANY /api/books/{proxy+}    /api/books, /api/books/*      book-service    127.0.0.1:4101 (initial), 127.0.0.1:4102 (initial), 127.0.0.1:4103 (unused)',
    ]);
  });

  it('marks the routes behind the JWT authorizer', () => {
    const routes = readHttpApiSettings({
      parameters: { JwtIssuer: 'https://issuer.example', JwtAudience: 'bookstore' },
    }).routes;
    const keys = formatRouteTable(routes, albFor({}))
      .split('\n')
      .slice(1)
      .map((line) => line.slice(0, line.indexOf(')') + 1));
    expect(keys).toEqual(routes.map((r) => `${r.routeKey} (JWT)`));
  });

  it('says what the ALB answers on a route no rule takes, and $default', () => {
    const table = formatRouteTable([route('GET /health'), route('$default')], albFor({}));
    expect(table.split('\n')).toEqual([
      'HTTP API route  ALB rule (path)              service  replicas',
      'GET /health     (none: the ALB answers 503)  -        -',
      '$default        (none: the ALB answers 503)  -        -',
    ]);
  });

  it('a service with no targets has an empty replicas column, no trailing spaces', () => {
    const table = formatRouteTable([route('ANY /api/books')], albFor({}));
    expect(table.split('\n')).toEqual([
      'HTTP API route  ALB rule (path)           service       replicas',
      'ANY /api/books  /api/books, /api/books/*  book-service',
    ]);
  });
});
