// The topology the console shows (scripts/local/console/topology.ts), built in this process from
// the objects that route requests: each HTTP API route and the listener rule it lands on, the
// rules in the order the ALB evaluates them (host-header AND path-pattern, as Copilot v1.33.2
// writes them: internal/pkg/template/templates/workloads/partials/cf/http-listener.yml), the
// listener's default action (environment/cf.yml InternalHTTPListener: forward to
// DefaultInternalHTTPTargetGroup, which has no targets), each target group's health check and
// tasks. Target groups run on a clock of the test's own: nothing is registered, no timer runs.
import { describe, expect, it } from 'vitest';
import type { HealthCheckSettings } from '../../../scripts/local/alb/health-check.ts';
import { type ListenerRule, LoadBalancer } from '../../../scripts/local/alb/load-balancer.ts';
import { TargetGroup } from '../../../scripts/local/alb/target-group.ts';
import type { Task } from '../../../scripts/local/console/feed.ts';
import { buildTopology } from '../../../scripts/local/console/topology.ts';
import type { LocalStack } from '../../../scripts/local/handle.ts';
import {
  type HttpApiRoute,
  type HttpApiSettings,
  readHttpApiSettings,
} from '../../../scripts/workspace/http-api-settings.ts';
import { manifestService } from '../../helpers/workspace.ts';
import { testHealthCheck } from '../health-settings.ts';
import { ManualClock } from '../manual-clock.ts';
import { feedTask } from './fake-feed.ts';

const ALB_HOST = 'internal-bookstore-test-1234.eu-west-1.elb.localhost';

/** A route as the template reader gives it; only the key, path and throttling matter here. */
function route(routeKey: string, rateLimit = 100, burstLimit = 50): HttpApiRoute {
  const path = routeKey === '$default' ? '' : (routeKey.split(' ')[1] ?? '');
  return {
    routeKey,
    logicalId: routeKey.replace(/\W/g, ''),
    method: routeKey === '$default' ? 'ANY' : (routeKey.split(' ')[0] ?? ''),
    path,
    pattern: /^$/,
    throttling: { rateLimit, burstLimit },
    authorizer: null,
  };
}

interface ServiceSpec {
  name: string;
  pathPrefix: string;
  health?: Partial<HealthCheckSettings>;
  deregistrationDelayMs?: number;
}

/**
 * A stack of the given services, one rule and one target group each, rules in the order given
 * (the order they were deployed in). `tasksOf` is what the console's feed would answer.
 */
function stackOf(
  services: ServiceSpec[],
  settings: Pick<HttpApiSettings, 'routes' | 'hostOverwritten'>,
): LocalStack {
  const clock = new ManualClock();
  const groups = new Map<string, TargetGroup>();
  const rules: ListenerRule[] = [];
  for (const s of services) {
    const group = new TargetGroup(
      s.name,
      { ...testHealthCheck(`${s.pathPrefix}/health`), ...s.health },
      s.deregistrationDelayMs ?? 0,
      { onStateChange: () => {} },
      { clock, probe: async () => ({ status: 200 }) },
    );
    groups.set(s.name, group);
    rules.push({
      service: s.name,
      pathPrefix: s.pathPrefix,
      hosts: [`${s.name}.test.bookstore.internal`],
      group,
    });
  }
  return {
    application: 'bookstore',
    environment: 'test',
    apiUrl: 'http://127.0.0.1:8080',
    albUrl: 'http://127.0.0.1:8081',
    albHost: ALB_HOST,
    settings: settings as HttpApiSettings,
    parts: { alb: new LoadBalancer(ALB_HOST, rules), groups, replicas: [] },
  } as unknown as LocalStack;
}

const BOOKS: ServiceSpec = { name: 'book-service', pathPrefix: '/api/books' };
const AUTHORS: ServiceSpec = { name: 'author-service', pathPrefix: '/api/authors' };

function task(service: string, slot: number, port: number): Task {
  return feedTask(service, slot, port);
}

const noTasks = () => [];

describe('the routes: each with the listener rule its requests land on', () => {
  it('through the Host the integration overwrites to the ALB name, by the path a request would take', () => {
    const stack = stackOf([BOOKS, AUTHORS], {
      hostOverwritten: true,
      routes: [
        route('ANY /api/books', 20, 10),
        route('ANY /api/books/{proxy+}', 30, 15),
        route('GET /api/authors/{id}', 40, 5),
        route('GET /api/bookshop'),
        route('$default', 7, 3),
      ],
    });
    expect(buildTopology(stack, noTasks).routes).toEqual([
      { routeKey: 'ANY /api/books', rule: 'book-service', rateLimit: 20, burstLimit: 10 },
      { routeKey: 'ANY /api/books/{proxy+}', rule: 'book-service', rateLimit: 30, burstLimit: 15 },
      { routeKey: 'GET /api/authors/{id}', rule: 'author-service', rateLimit: 40, burstLimit: 5 },
      // /api/bookshop is not /api/books nor under it: the default action.
      { routeKey: 'GET /api/bookshop', rule: null, rateLimit: 100, burstLimit: 50 },
      // $default takes any path: no one rule to name.
      { routeKey: '$default', rule: null, rateLimit: 7, burstLimit: 3 },
    ]);
  });

  it('where two rules accept a path, the one the ALB evaluates first (deployed first)', () => {
    const api: ServiceSpec = { name: 'api-service', pathPrefix: '/api' };
    const routes = [route('ANY /api/books')];
    const first = buildTopology(stackOf([api, BOOKS], { hostOverwritten: true, routes }), noTasks);
    expect(first.routes[0]?.rule).toBe('api-service');
    const second = buildTopology(stackOf([BOOKS, api], { hostOverwritten: true, routes }), noTasks);
    expect(second.routes[0]?.rule).toBe('book-service');
  });

  it('without the Host overwrite, none: the ALB gets the API host, which no rule accepts', () => {
    const stack = stackOf([BOOKS, AUTHORS], {
      hostOverwritten: false,
      routes: [route('ANY /api/books'), route('ANY /api/authors/{proxy+}'), route('$default')],
    });
    expect(buildTopology(stack, noTasks).routes.map((r) => [r.routeKey, r.rule])).toEqual([
      ['ANY /api/books', null],
      ['ANY /api/authors/{proxy+}', null],
      ['$default', null],
    ]);
  });

  it("the repository's template and manifests: every route lands on its service's rule", () => {
    const books = manifestService('book-service');
    const authors = manifestService('author-service');
    const settings = readHttpApiSettings();
    const stack = stackOf(
      [
        { name: books.name, pathPrefix: books.pathPrefix },
        { name: authors.name, pathPrefix: authors.pathPrefix },
      ],
      settings,
    );
    const routes = buildTopology(stack, noTasks).routes;
    expect(routes.map((r) => r.routeKey)).toEqual(settings.routes.map((r) => r.routeKey));
    for (const shown of routes) {
      const service = shown.routeKey.includes('/api/books') ? books.name : authors.name;
      expect(shown.rule, shown.routeKey).toBe(service);
    }
  });
});

describe('the listener rules and the default action', () => {
  it("in evaluation order from 1, each accepting the ALB's name and the service's own, on its path and under it", () => {
    const topology = buildTopology(
      stackOf([AUTHORS, BOOKS], { hostOverwritten: true, routes: [] }),
      noTasks,
    );
    expect(topology.rules).toEqual([
      {
        id: 'author-service',
        order: 1,
        hosts: [ALB_HOST, 'author-service.test.bookstore.internal'],
        paths: ['/api/authors', '/api/authors/*'],
        targetGroup: 'author-service',
      },
      {
        id: 'book-service',
        order: 2,
        hosts: [ALB_HOST, 'book-service.test.bookstore.internal'],
        paths: ['/api/books', '/api/books/*'],
        targetGroup: 'book-service',
      },
    ]);
  });

  it('names the default action Copilot sets: a forward to a target group with no targets, so 503', () => {
    const { defaultAction } = buildTopology(
      stackOf([BOOKS], { hostOverwritten: true, routes: [] }),
      noTasks,
    );
    expect(defaultAction).toMatch(/^forward to an empty target group/);
    expect(defaultAction).toContain('503');
    // Not ELB's fixed-response action type: the real listener has none.
    expect(defaultAction).not.toMatch(/fixed/i);
  });

  it('says which stack it is and where its API and ALB listen', () => {
    const topology = buildTopology(
      stackOf([BOOKS], { hostOverwritten: true, routes: [] }),
      noTasks,
    );
    expect(topology).toMatchObject({
      application: 'bookstore',
      environment: 'test',
      apiUrl: 'http://127.0.0.1:8080',
      albUrl: 'http://127.0.0.1:8081',
      albHost: ALB_HOST,
    });
  });
});

describe('the target groups', () => {
  it('each with its health check as configured, its codes as read, its delay and its own tasks', () => {
    const stack = stackOf(
      [
        {
          ...BOOKS,
          health: {
            path: '/api/books/health',
            successCodes: [200, 201, 202, 204, 404],
            intervalMs: 10_000,
            timeoutMs: 5_000,
            healthyThreshold: 3,
            unhealthyThreshold: 4,
          },
          deregistrationDelayMs: 35_000,
        },
        { ...AUTHORS, deregistrationDelayMs: 60_000 },
      ],
      { hostOverwritten: true, routes: [] },
    );
    const tasks: Record<string, Task[]> = {
      'book-service': [task('book-service', 0, 41_000), task('book-service', 1, 41_001)],
      'author-service': [task('author-service', 0, 42_000)],
    };
    const asked: string[] = [];
    const topology = buildTopology(stack, (group) => {
      asked.push(group);
      return tasks[group] ?? [];
    });
    expect(asked).toEqual(['book-service', 'author-service']);
    expect(topology.targetGroups).toEqual([
      {
        name: 'book-service',
        healthCheck: {
          path: '/api/books/health',
          successCodes: [200, 201, 202, 204, 404],
          codes: '200-202, 204, 404',
          intervalMs: 10_000,
          timeoutMs: 5_000,
          healthyThreshold: 3,
          unhealthyThreshold: 4,
        },
        deregistrationDelayMs: 35_000,
        tasks: tasks['book-service'],
      },
      {
        name: 'author-service',
        healthCheck: {
          path: '/api/authors/health',
          successCodes: [200],
          codes: '200',
          intervalMs: 1_000,
          timeoutMs: 500,
          healthyThreshold: 2,
          unhealthyThreshold: 2,
        },
        deregistrationDelayMs: 60_000,
        tasks: tasks['author-service'],
      },
    ]);
  });

  it("a snapshot: changing what it shows leaves the group's own success codes alone", () => {
    const stack = stackOf([BOOKS], { hostOverwritten: true, routes: [] });
    const shown = buildTopology(stack, noTasks).targetGroups[0]?.healthCheck.successCodes;
    shown?.push(500);
    expect(stack.parts.groups.get('book-service')?.health.successCodes).toEqual([200]);
    expect(buildTopology(stack, noTasks).targetGroups[0]?.healthCheck.successCodes).toEqual([200]);
  });
});
