// The local stack built from this repository's manifests and template, driven over HTTP:
// API Gateway's answers, Copilot's listener rules, round robin, and replicas stopped and
// replaced as ECS stops and replaces tasks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../scripts/local/index.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { authors } from '../../services/author-service/src/data.ts';
import { books } from '../../services/book-service/src/data.ts';
import { request } from '../helpers/http.ts';
import { waitFor } from '../helpers/wait.ts';
import { stackLog } from './helpers.ts';

const SCALE = 0.1;
const workspace = loadWorkspace();
const bookService = workspace.services.find((s) => s.name === 'book-service');
const authorService = workspace.services.find((s) => s.name === 'author-service');
if (!bookService || !authorService)
  throw new Error('the manifests lack book-service/author-service');

let stack: LocalStack;
const log = stackLog();
/** The stack's lines so far, without their timestamps. */
const lines = () => log.lines.map((l) => l.line);

beforeAll(async () => {
  stack = await startLocalStack({
    apiPort: 0,
    healthCheckScale: SCALE,
    replicaOutput: 'ignore',
    log: log.log,
  });
});

afterAll(async () => {
  await stack?.stop();
  for (const service of stack?.services ?? []) {
    for (const replica of service.replicas) {
      // Every replica process is gone: kill(pid, 0) throws for a pid that does not exist.
      if (replica.pid !== undefined) expect(() => process.kill(replica.pid as number, 0)).toThrow();
    }
  }
});

const api = (path: string) => `${stack.apiUrl}${path}`;

describe('through the HTTP API', () => {
  it('answers the six books and the six authors from the replicas', async () => {
    const bookReply = await request(api(bookService.pathPrefix));
    expect(bookReply.status).toBe(200);
    expect(JSON.parse(bookReply.body)).toEqual(books);
    const authorReply = await request(api(authorService.pathPrefix));
    expect(authorReply.status).toBe(200);
    expect(JSON.parse(authorReply.body)).toEqual(authors);
  });

  it.each(['/', '/nope', `${bookService.pathPrefix}x`])(
    "answers API Gateway's own 404 where no route matches (%s)",
    async (path) => {
      const reply = await request(api(path));
      expect(reply.status).toBe(404);
      expect(reply.headers['content-type']).toBe('application/json');
      expect(reply.body).toBe('{"message":"Not Found"}');
      expect(reply.headers['apigw-requestid']).toMatch(/^\S{15}=$/);
    },
  );

  it('passes the services own answers through (their 404 and their 413)', async () => {
    const missing = await request(api(`${bookService.pathPrefix}/999`));
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toBe('application/problem+json');
    // Under the gateway's limit, above the service's: the service refuses, the gateway relays.
    const body = Buffer.alloc(64 * 1024, 'x');
    const tooBigForTheService = await request(api(bookService.pathPrefix), {
      method: 'POST',
      body,
    });
    expect(tooBigForTheService.status).toBe(413);
    expect(tooBigForTheService.headers['content-type']).toBe('application/problem+json');
  });

  it('refuses a body over the payload limit with 413 {"message":"Request Entity Too Large"}', async () => {
    const body = Buffer.alloc(stack.settings.payloadLimitBytes + 1, 'x');
    const reply = await request(api(bookService.pathPrefix), { method: 'POST', body });
    expect(reply.status).toBe(413);
    expect(reply.body).toBe('{"message":"Request Entity Too Large"}');
  });

  it('spreads requests round robin over both healthy replicas', async () => {
    const targets = stack.services
      .find((s) => s.name === 'book-service')
      ?.replicas.map((r) => r.target);
    expect(targets).toHaveLength(bookService.minCount);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const reply = await request(api(bookService.pathPrefix));
      seen.push(String(reply.headers['x-local-target']));
    }
    expect(new Set(seen)).toEqual(new Set(targets));
    for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
  });

  it("writes one access-log line per request in the stage's format", async () => {
    const ok = await request(api(`${bookService.pathPrefix}?limit=2`));
    const missing = await request(api('/nope'));
    await waitFor('the access-log lines', () =>
      lines().some((l) => l.includes(String(missing.headers['apigw-requestid']))),
    );
    const entry = (id: unknown) => {
      const found = lines().filter((l) => l.includes(`"${String(id)}"`));
      expect(found).toHaveLength(1);
      return JSON.parse(found[0] as string) as Record<string, string>;
    };

    const okEntry = entry(ok.headers['apigw-requestid']);
    // The fields, in order, that the stage's Format in addons/http-api.yml declares, stated
    // here rather than read from that same string: a line missing one, or a template that
    // loses one (Security Hub APIGateway.9 reads requestId and the integration fields), fails.
    expect(Object.keys(okEntry)).toEqual([
      'requestId',
      'ip',
      'requestTime',
      'httpMethod',
      'routeKey',
      'path',
      'status',
      'protocol',
      'responseLength',
      'responseLatency',
      'integrationStatus',
      'integrationLatency',
      'integrationErrorMessage',
      'errorMessage',
    ]);
    expect(okEntry).toMatchObject({
      requestId: ok.headers['apigw-requestid'],
      ip: '127.0.0.1',
      httpMethod: 'GET',
      routeKey: `ANY ${bookService.pathPrefix}`,
      path: bookService.pathPrefix,
      status: '200',
      protocol: 'HTTP/1.1',
      responseLength: ok.headers['content-length'],
      integrationStatus: '200',
      integrationErrorMessage: '-',
      errorMessage: '-',
    });
    expect(okEntry.requestTime).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
    expect(okEntry.responseLatency).toMatch(/^\d+$/);
    expect(okEntry.integrationLatency).toMatch(/^\d+$/);
    expect(Number(okEntry.responseLatency)).toBeGreaterThanOrEqual(
      Number(okEntry.integrationLatency),
    );

    expect(entry(missing.headers['apigw-requestid'])).toMatchObject({
      routeKey: '-',
      status: '404',
      integrationStatus: '-',
      integrationLatency: '-',
      errorMessage: 'Not Found',
    });
  });
});

describe('the local ALB, reached directly', () => {
  const alb = (path: string, host: string) =>
    request(`${stack.albUrl}${path}`, { headers: { host } });

  it('routes on its own name and on <svc>.<env>.<app>.internal, with the port or without', async () => {
    for (const host of [
      stack.albHost,
      `${stack.albHost}:80`,
      `${bookService.name}.${stack.environment}.${stack.application}.internal`,
    ]) {
      const reply = await alb(bookService.pathPrefix, host);
      expect(reply.status, host).toBe(200);
      expect(JSON.parse(reply.body)).toEqual(books);
    }
  });

  it('answers the default action, 503, to a Host no rule names', async () => {
    const otherService = `${authorService.name}.${stack.environment}.${stack.application}.internal`;
    for (const host of ['example.com', '127.0.0.1', otherService]) {
      const reply = await alb(bookService.pathPrefix, host);
      expect(reply.status, host).toBe(503);
      expect(reply.headers.server).toBe('awselb/2.0');
      expect(reply.body).toContain('503 Service Temporarily Unavailable');
    }
  });

  it('answers 503 to a path no rule matches, and does not rewrite paths', async () => {
    for (const path of ['/', '/nope', `${bookService.pathPrefix}x`]) {
      expect((await alb(path, stack.albHost)).status, path).toBe(503);
    }
    // `/api/books/*` reaches the service with its full path: the service's own 404 answers.
    const deep = await alb(`${bookService.pathPrefix}/999`, stack.albHost);
    expect(deep.status).toBe(404);
    expect(deep.headers['content-type']).toBe('application/problem+json');
  });
});

describe('replicas, as ECS tasks behind the ALB', () => {
  const books = () => stack.services.find((s) => s.name === 'book-service');
  const alb = (path: string) =>
    request(`${stack.albUrl}${path}`, { headers: { host: stack.albHost } });
  const since = (text: string, from: number) => log.when(text, from);

  it('a replica killed from outside is deregistered at once and replaced by a new target', async () => {
    const replica = books()?.replicas[0];
    if (!replica?.pid) throw new Error('no book-service replica');
    const old = { pid: replica.pid, target: replica.target };
    const killedAt = performance.now();
    process.kill(old.pid, 'SIGKILL');
    await waitFor('a new task to serve', () => replica.pid !== old.pid && replica.healthy);
    // Taken out because it exited, not because its health checks failed: it went from healthy
    // straight to draining, as the exit was reported, and never to unhealthy.
    const after = log.lines.filter((l) => l.at >= killedAt).map((l) => l.line);
    expect(after.some((l) => l.includes(`target ${old.target}: healthy -> draining`))).toBe(true);
    expect(after.some((l) => l.includes(`book-service/${replica.index} exited`))).toBe(true);
    expect(after.filter((l) => l.includes(`target ${old.target}: healthy -> unhealthy`))).toEqual(
      [],
    );
    expect(replica.target).not.toBe(old.target);
    expect(since(`target ${replica.target}: unused -> initial`, killedAt)).toBeDefined();
    expect(since(`target ${replica.target}: initial -> healthy`, killedAt)).toBeDefined();
    expect(replica.restarts).toBeGreaterThanOrEqual(1);
    // The old target is gone from the group; requests go to the new one and the other replica.
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++)
      seen.add(String((await alb(bookService.pathPrefix)).headers['x-local-target']));
    expect(seen).toEqual(new Set(books()?.replicas.map((r) => r.target)));
    expect(stack.routeTable()).not.toContain(old.target);
  });

  it('with every target gone, the ALB answers 503 until a replacement is healthy', async () => {
    const replicas = books()?.replicas ?? [];
    const old = replicas.map((r) => r.pid as number);
    const killedAt = performance.now();
    for (const pid of old) process.kill(pid, 'SIGKILL');
    // `at`: when each request was sent, so one picked before the exits counts before them.
    const answers: { at: number; status: number; server: string }[] = [];
    while (!answers.some((a) => a.status === 200) && performance.now() - killedAt < 30_000) {
      const at = performance.now();
      const reply = await alb(bookService.pathPrefix);
      answers.push({ at, status: reply.status, server: String(reply.headers.server) });
    }
    const exits = replicas.map((r) => since(`book-service/${r.index} exited`, killedAt));
    if (exits.includes(undefined)) throw new Error('an exit was not seen');
    const bothOut = Math.max(...(exits as number[]));
    const firstHealthy = since('initial -> healthy', killedAt) as number;
    const after = answers.filter((a) => a.at > bothOut);
    const unavailable = after.filter((a) => a.status === 503);
    console.log(
      `both book-service replicas killed: out ${(bothOut - killedAt).toFixed(0)} ms after the kill; ` +
        `${unavailable.length} requests answered 503 over ${(firstHealthy - bothOut).toFixed(0)} ms until a new target was healthy; ` +
        `${answers.length - after.length} answered before both exits were seen (${
          answers
            .filter((a) => a.at <= bothOut)
            .map((a) => a.status)
            .join(', ') || 'none'
        })`,
    );
    // In the order answered, not by the log's clock (on a busy machine a request sent just
    // before the second exit line was logged may already find no target): first the dying
    // targets' 502s, then 503s from the ALB itself while no target is healthy, then (the
    // loop's last) the first 200, which only a healthy target can give.
    const firstUnavailable = answers.findIndex((a) => a.status === 503);
    expect(firstUnavailable).toBeGreaterThanOrEqual(0);
    for (const answer of answers.slice(0, firstUnavailable)) expect(answer.status).toBe(502);
    for (const answer of answers.slice(firstUnavailable, -1)) {
      expect(answer).toMatchObject({ status: 503, server: 'awselb/2.0' });
    }
    expect(answers.at(-1)?.status).toBe(200);
    await waitFor('both replacements to serve', () => replicas.every((r) => r.healthy));
  });

  it('replaces a replica on SIGTERM as ECS does: drained first, so no request fails', async () => {
    const replica = stack.services.find((s) => s.name === 'author-service')?.replicas[1];
    if (!replica) throw new Error('no author-service replica');
    const oldPid = replica.pid;
    let stop = false;
    const statuses: number[] = [];
    // Straight at the ALB: through the API, a loop this tight would meet the stage's throttle.
    const load = (async () => {
      while (!stop) {
        const reply = await request(`${stack.albUrl}${authorService.pathPrefix}`, {
          headers: { host: stack.albHost },
        });
        statuses.push(reply.status);
      }
    })();
    await stack.killReplica('author-service', 1);
    await waitFor('the new replica to serve', () => replica.healthy);
    stop = true;
    await load;
    expect(replica.pid).not.toBe(oldPid);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });
});
