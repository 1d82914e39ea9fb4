// What a console watches and does on the local stack, in this process. The event hub
// (scripts/local/events.ts): each listener told every state change and health check, and each
// request unless it said otherwise; `watched` and `active` say whether anyone listens (the
// gateway builds a request's record only while `active`); a listener that throws is not the
// stack's problem. The Host tester (scripts/local/console/probe.ts): one real GET to the ALB's
// listener with the Host and path the user typed, refused before anything is sent when either is
// not one, and why the ALB answered as it did, in words, from its own listener rules.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { attachAlbListener } from '../../scripts/local/alb/listener.ts';
import { LoadBalancer } from '../../scripts/local/alb/load-balancer.ts';
import { Target, TargetGroup } from '../../scripts/local/alb/target-group.ts';
import { FeedError } from '../../scripts/local/console/feed.ts';
import { probeAlb } from '../../scripts/local/console/probe.ts';
import { type LocalStackEvent, StackEvents } from '../../scripts/local/events.ts';
import type { LocalStack } from '../../scripts/local/handle.ts';
import type { AccessLogRecord } from '../../scripts/workspace/http-api-settings.ts';
import { testHealthCheck } from './health-settings.ts';
import { ManualClock } from './manual-clock.ts';

// ---------------------------------------------------------------------------------------------
// The event hub
// ---------------------------------------------------------------------------------------------

const stateChange: LocalStackEvent = {
  type: 'target-state',
  service: 'book-service',
  target: '127.0.0.1:41000',
  from: 'initial',
  state: 'healthy',
  reason: '',
};
const check: LocalStackEvent = {
  type: 'health-check',
  service: 'book-service',
  target: '127.0.0.1:41000',
  outcome: { passed: true, status: 200 },
  description: 'GET /api/books/health answered 200',
};
const record = { requestId: 'req-1', status: 200, path: '/api/books' } as AccessLogRecord;
const served: LocalStackEvent = {
  type: 'request',
  record,
  rule: 'book-service',
  target: '127.0.0.1:41000',
};

/** A listener that keeps what it is told. */
function keeper(): { told: LocalStackEvent[]; listener: (event: LocalStackEvent) => void } {
  const told: LocalStackEvent[] = [];
  return { told, listener: (event) => told.push(event) };
}

describe('the event hub: who is told what', () => {
  it('tells a listener every event in order, requests included, until it stops', () => {
    const events = new StackEvents();
    const { told, listener } = keeper();
    const stop = events.observe(listener);
    events.emit(stateChange);
    events.served(record, 'book-service', '127.0.0.1:41000');
    events.emit(check);
    stop();
    events.emit(stateChange);
    events.served(record, undefined, undefined);
    expect(told).toEqual([stateChange, served, check]);
  });

  it('gives a request its record, the rule and the target that served it, or none', () => {
    const events = new StackEvents();
    const { told, listener } = keeper();
    events.observe(listener, { requests: true });
    events.served(record, undefined, undefined);
    expect(told).toEqual([{ type: 'request', record, rule: undefined, target: undefined }]);
  });

  it('tells a topology-only listener state changes and health checks, never requests', () => {
    const events = new StackEvents();
    const topology = keeper();
    const all = keeper();
    events.observe(topology.listener, { requests: false });
    events.observe(all.listener);
    events.emit(stateChange);
    events.served(record, 'book-service', '127.0.0.1:41000');
    events.emit(served);
    events.emit(check);
    expect(topology.told).toEqual([stateChange, check]);
    expect(all.told).toEqual([stateChange, served, served, check]);
  });

  it('says whether anyone listens, and whether anyone listens to requests', () => {
    const events = new StackEvents();
    const flags = () => ({ watched: events.watched, active: events.active });
    expect(flags()).toEqual({ watched: false, active: false });
    const stopTopology = events.observe(() => {}, { requests: false });
    expect(flags()).toEqual({ watched: true, active: false });
    const stopAll = events.observe(() => {});
    expect(flags()).toEqual({ watched: true, active: true });
    stopAll();
    expect(flags()).toEqual({ watched: true, active: false });
    const stopRequests = events.observe(() => {}, {});
    expect(flags()).toEqual({ watched: true, active: true });
    stopRequests();
    stopTopology();
    expect(flags()).toEqual({ watched: false, active: false });
  });

  it('stops only the listener whose stop was called, however often it is called', () => {
    const events = new StackEvents();
    const first = keeper();
    const second = keeper();
    const stopFirst = events.observe(first.listener);
    events.observe(second.listener);
    stopFirst();
    stopFirst();
    events.emit(check);
    expect(first.told).toEqual([]);
    expect(second.told).toEqual([check]);
    expect(events.active).toBe(true);
  });

  it("swallows a listener's failure: the others are still told, the caller never sees it", () => {
    const events = new StackEvents();
    const before = keeper();
    const after = keeper();
    events.observe(before.listener);
    events.observe(() => {
      throw new Error('the console broke');
    });
    events.observe(after.listener);
    expect(() => events.emit(stateChange)).not.toThrow();
    expect(() => events.served(record, 'book-service', '127.0.0.1:41000')).not.toThrow();
    expect(before.told).toEqual([stateChange, served]);
    expect(after.told).toEqual([stateChange, served]);
  });
});

// ---------------------------------------------------------------------------------------------
// The Host tester
// ---------------------------------------------------------------------------------------------

const ALB_HOST = 'internal-bookstore-test.elb.localhost';
const BOOKS = 'book-service';
const AUTHORS = 'author-service';
const BOOKS_HOST = `${BOOKS}.test.bookstore.internal`;
const AUTHORS_HOST = `${AUTHORS}.test.bookstore.internal`;
const HOSTS = `${ALB_HOST}, ${BOOKS_HOST}, ${AUTHORS_HOST}`;
const BOTH_PATHS = '/api/books, /api/books/*; /api/authors, /api/authors/*';

/** What the test opened, closed after it. */
const opened: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of opened.splice(0).reverse()) await close();
});

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  opened.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on (bound once, then released). */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A service's targets: a handler (a server of the test's own, healthy), 'refused' (healthy, but
 * nothing listens: the ALB's 502), 'initial' (registered, no check passed yet) or 'unused'
 * (deregistered).
 */
type TargetSpec = http.RequestListener | 'refused' | 'initial' | 'unused';

/** A group whose first health checks have run: passed, but a starting target's refused. */
async function group(name: string, specs: TargetSpec[]): Promise<TargetGroup> {
  const clock = new ManualClock();
  /** The ports of the targets still starting (no check has reached them). */
  const starting = new Set<number>();
  const built = new TargetGroup(
    name,
    testHealthCheck(`/api/${name}/health`),
    0,
    { onStateChange: () => {} },
    {
      clock,
      probe: async (port) => (starting.has(port) ? { error: 'refused' } : { status: 200 }),
    },
  );
  opened.push(() => built.close());
  for (const spec of specs) {
    const port =
      typeof spec === 'function' ? await listen(http.createServer(spec)) : await closedPort();
    if (spec === 'initial') starting.add(port);
    const target = new Target(port);
    built.add(target);
    built.register(target);
    if (spec === 'unused') await built.deregister(target);
  }
  await clock.advance(0);
  return built;
}

/**
 * The ALB's listener with two rules, book-service's then author-service's, as stack.ts builds it;
 * the console's probe goes through a stack whose only parts it reads are these.
 */
async function albWith(books: TargetSpec[], authors: TargetSpec[] = []) {
  const bookGroup = await group(BOOKS, books);
  const authorGroup = await group(AUTHORS, authors);
  const alb = new LoadBalancer(ALB_HOST, [
    { service: BOOKS, pathPrefix: '/api/books', hosts: [BOOKS_HOST], group: bookGroup },
    { service: AUTHORS, pathPrefix: '/api/authors', hosts: [AUTHORS_HOST], group: authorGroup },
  ]);
  const server = http.createServer();
  attachAlbListener(server, alb);
  const port = await listen(server);
  alb.port = port;
  const stack = { albUrl: `http://127.0.0.1:${port}`, parts: { alb } } as unknown as LocalStack;
  return { stack, bookGroup, authorGroup };
}

const answer =
  (status: number, body = 'ok'): http.RequestListener =>
  (_req, res) =>
    res.writeHead(status, { 'content-type': 'text/plain' }).end(body);

describe('the Host tester: what the ALB did, and why', () => {
  it("sends the Host and path given to the ALB's listener, and names the rule and the target", async () => {
    const asked: http.IncomingHttpHeaders[] = [];
    const { stack, bookGroup } = await albWith([
      (req, res) => {
        asked.push(req.headers);
        res.end('x'.repeat(100_000));
      },
    ]);
    const result = await probeAlb(stack, BOOKS_HOST, '/api/books/1?x=1');
    expect(result).toEqual({
      host: BOOKS_HOST,
      path: '/api/books/1?x=1',
      status: 200,
      rule: BOOKS,
      target: bookGroup.targets[0]?.address,
      explanation: `Rule ${BOOKS} (host-header and path-pattern /api/books) matched; target group ${BOOKS} sent it to a target in round robin.`,
    });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ host: BOOKS_HOST, 'user-agent': 'local-console-host-tester' });
  });

  it('a Host no rule accepts: the default action, the name without its port and every accepted one', async () => {
    const { stack } = await albWith([answer(200)]);
    expect(await probeAlb(stack, 'Nowhere.Example:8080', '/api/books')).toEqual({
      host: 'Nowhere.Example:8080',
      path: '/api/books',
      status: 503,
      rule: null,
      target: null,
      explanation: `No rule's host-header condition accepts "nowhere.example" (accepted: ${HOSTS}): the listener's default action answers 503.`,
    });
  });

  it("the ALB's own name with a path no rule has: every rule's path patterns", async () => {
    const { stack } = await albWith([answer(200)]);
    const result = await probeAlb(stack, ALB_HOST.toUpperCase(), '/api/bookshelf');
    expect(result).toMatchObject({ status: 503, rule: null, target: null });
    expect(result.explanation).toBe(
      `The Host matches, but "/api/bookshelf" matches no path-pattern of its rules (${BOTH_PATHS}): the default action answers 503.`,
    );
  });

  it("a service's own name with another service's path: only its own rule's path patterns", async () => {
    const { stack } = await albWith([answer(200)], [answer(200)]);
    const result = await probeAlb(stack, `${BOOKS_HOST}:80`, '/api/authors');
    expect(result).toMatchObject({ status: 503, rule: null, target: null });
    expect(result.explanation).toBe(
      `The Host matches, but "/api/authors" matches no path-pattern of its rules (/api/books, /api/books/*): the default action answers 503.`,
    );
  });

  it('reads the name from the Host as the listener rule does, whatever follows its colon', async () => {
    const { stack } = await albWith([answer(200)], [answer(200)]);
    const result = await probeAlb(stack, `${BOOKS_HOST}:http`, '/api/authors');
    expect(result.explanation).toBe(
      `The Host matches, but "/api/authors" matches no path-pattern of its rules (/api/books, /api/books/*): the default action answers 503.`,
    );
    const elsewhere = await probeAlb(stack, 'nowhere:80.example', '/api/books');
    expect(elsewhere.explanation).toBe(
      `No rule's host-header condition accepts "nowhere" (accepted: ${HOSTS}): the listener's default action answers 503.`,
    );
  });

  it('a rule whose group has no target registered: its 503, saying so', async () => {
    const { stack } = await albWith([answer(200)]);
    expect(await probeAlb(stack, AUTHORS_HOST, '/api/authors')).toEqual({
      host: AUTHORS_HOST,
      path: '/api/authors',
      status: 503,
      rule: AUTHORS,
      target: null,
      explanation: `Rule ${AUTHORS} (host-header and path-pattern /api/authors) matched, but target group ${AUTHORS} has no target that can serve (none registered): 503.`,
    });
  });

  it('a rule whose targets cannot serve: its 503, with each target and its state', async () => {
    const { stack, bookGroup } = await albWith(['initial', 'unused']);
    const [first, second] = bookGroup.targets.map((t) => t.address);
    const result = await probeAlb(stack, ALB_HOST, '/api/books');
    expect(result).toMatchObject({ status: 503, rule: BOOKS, target: null });
    expect(result.explanation).toBe(
      `Rule ${BOOKS} (host-header and path-pattern /api/books) matched, but target group ${BOOKS} has no target that can serve (${first} initial, ${second} unused): 503.`,
    );
  });

  it('a target that refuses the connection: the 502, no target named', async () => {
    const { stack } = await albWith(['refused']);
    expect(await probeAlb(stack, ALB_HOST, '/api/books')).toMatchObject({
      status: 502,
      rule: BOOKS,
      target: null,
      explanation: `Rule ${BOOKS} (host-header and path-pattern /api/books) matched; the target refused or dropped the connection: 502.`,
    });
  });

  it("a target's own 503 or 502 is the target's answer, not the ALB's", async () => {
    for (const status of [503, 502]) {
      const { stack, bookGroup } = await albWith([answer(status, 'not ready')]);
      const result = await probeAlb(stack, ALB_HOST, '/api/books');
      expect(result).toMatchObject({ status, rule: BOOKS, target: bookGroup.targets[0]?.address });
      expect(result.explanation).toBe(
        `Rule ${BOOKS} (host-header and path-pattern /api/books) matched; target group ${BOOKS} sent it to a target in round robin.`,
      );
    }
  });

  it('fails, rather than waiting for good, on an answer its target cut short', async () => {
    const { stack } = await albWith([
      (req, res) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial');
        setImmediate(() => req.socket.destroy());
      },
    ]);
    await expect(probeAlb(stack, ALB_HOST, '/api/books')).rejects.toThrow(
      'GET /api/books with Host internal-bookstore-test.elb.localhost: the answer (status 200) was cut short',
    );
  }, 10_000);

  it('answers a target that sends nothing in time (a paused replica) as a 504, naming the wait', async () => {
    const { stack } = await albWith([() => {}]);
    const failure = await probeAlb(stack, ALB_HOST, '/api/books', 50).catch((error) => error);
    // Not a plain Error, which the console's server answers as a 500 "The operation was aborted".
    expect(failure).toBeInstanceOf(FeedError);
    expect(failure).toMatchObject({
      status: 504,
      message:
        'GET /api/books with Host internal-bookstore-test.elb.localhost: no answer within 50 ms (a paused or hung target?)',
    });
  });

  it('fails when the listener cannot be reached', async () => {
    const { stack } = await albWith([answer(200)]);
    const unreachable = { ...stack, albUrl: `http://127.0.0.1:${await closedPort()}` };
    await expect(probeAlb(unreachable, ALB_HOST, '/api/books')).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('the Host tester: what it refuses before sending anything', () => {
  /** A stack whose listener nothing serves: a probe that got as far as sending fails otherwise. */
  async function nowhere(): Promise<LocalStack> {
    const alb = new LoadBalancer(ALB_HOST, []);
    return {
      albUrl: `http://127.0.0.1:${await closedPort()}`,
      parts: { alb },
    } as unknown as LocalStack;
  }

  const hostRefusal = (host: string) =>
    new FeedError(400, `host "${host}" is not a host name (letters, digits, . - _ and a :port)`);

  it('a Host that is empty, holds a space, a slash, a control or non-ASCII character', async () => {
    const stack = await nowhere();
    for (const host of [
      '',
      'bad host',
      ' leading',
      'trailing ',
      'a/b',
      'a\tb',
      'a\nb',
      'bücher.example',
      'a@b',
    ]) {
      const refused = probeAlb(stack, host, '/api/books');
      await expect(refused, host).rejects.toBeInstanceOf(FeedError);
      await expect(refused, host).rejects.toMatchObject({
        status: 400,
        message: hostRefusal(host).message,
      });
    }
  });

  it('a Host longer than a DNS name (253), quoted to its first 80 characters', async () => {
    const stack = await nowhere();
    const long = `${'a'.repeat(250)}.com`;
    await expect(probeAlb(stack, long, '/')).rejects.toMatchObject({
      status: 400,
      message: hostRefusal(long.slice(0, 80)).message,
    });
  });

  it('takes every Host made of letters, digits, . - _ and a :port, up to 253 characters', async () => {
    const { stack } = await albWith([answer(200)]);
    for (const host of ['A-z_0.9:8080', '[::1]:80', 'x', `${'a'.repeat(249)}.com`]) {
      const result = await probeAlb(stack, host, '/');
      expect(result, host).toMatchObject({ host, status: 503, rule: null });
    }
  });

  it('a path that does not start with /, or holds a space, a control or non-ASCII character', async () => {
    const stack = await nowhere();
    const long = `/${'p'.repeat(100)} `;
    for (const path of [
      '',
      'api/books',
      ' /api',
      '/api books',
      '/api\u0000',
      '/api\u007f',
      '/bücher',
      long,
    ]) {
      const refused = probeAlb(stack, ALB_HOST, path);
      await expect(refused, path).rejects.toBeInstanceOf(FeedError);
      await expect(refused, path).rejects.toMatchObject({
        status: 400,
        message: `path "${path.slice(0, 80)}" must start with / and hold no spaces or control characters`,
      });
    }
  });

  it('takes every path of printable ASCII after its /', async () => {
    const { stack } = await albWith([answer(200)]);
    const printable = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) =>
      String.fromCharCode(0x21 + i),
    )
      .join('')
      .replace('#', '');
    for (const path of ['/', `/${printable}`]) {
      const result = await probeAlb(stack, ALB_HOST, path);
      expect(result, path).toMatchObject({ path, status: 503, rule: null });
    }
  });
});
