// The local stack built from this repository's manifests and template, driven over HTTP:
// API Gateway's answers, Copilot's listener rules, round robin, health checks and replacement.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../scripts/lib/local/index.ts';
import { loadWorkspace } from '../../scripts/lib/manifests.ts';
import { authors } from '../../services/author-service/src/data.ts';
import { books } from '../../services/book-service/src/data.ts';
import { request, waitFor } from './helpers.ts';

const SCALE = 0.1;
const workspace = loadWorkspace();
const bookService = workspace.services.find((s) => s.name === 'book-service');
const authorService = workspace.services.find((s) => s.name === 'author-service');
if (!bookService || !authorService)
  throw new Error('the manifests lack book-service/author-service');

let stack: LocalStack;
const lines: string[] = [];

beforeAll(async () => {
  stack = await startLocalStack({
    apiPort: 0,
    healthCheckScale: SCALE,
    replicaOutput: 'ignore',
    log: (line) => lines.push(line),
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
    await waitFor(
      'the access-log lines',
      () => lines.some((l) => l.includes(String(missing.headers['apigw-requestid']))),
      2_000,
    );
    const format = stack.settings.accessLogFormat as string;
    const keys = Object.keys(JSON.parse(format.replace(/\$context\.[A-Za-z.]+/g, '')));
    const entry = (id: unknown) => {
      const found = lines.filter((l) => l.includes(`"${String(id)}"`));
      expect(found).toHaveLength(1);
      return JSON.parse(found[0] as string) as Record<string, string>;
    };

    const okEntry = entry(ok.headers['apigw-requestid']);
    expect(Object.keys(okEntry)).toEqual(keys);
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

describe('replicas', () => {
  it('takes a killed replica out by health checks, replaces it, and puts it back', async () => {
    const replica = stack.services.find((s) => s.name === 'book-service')?.replicas[0];
    if (!replica) throw new Error('no book-service replica');
    const oldPid = replica.pid;
    const { intervalMs, unhealthyThreshold, healthyThreshold } = bookService.health;
    const interval = intervalMs * SCALE;
    await stack.killReplica('book-service', 0, 'SIGKILL');

    const takenOut = await waitFor(
      'the ALB to mark the killed replica unhealthy',
      () => replica.state === 'unhealthy',
      (unhealthyThreshold + 1) * interval + 1_000,
    );
    // The ALB cannot know sooner than its thresholds allow.
    expect(takenOut).toBeGreaterThanOrEqual((unhealthyThreshold - 1) * interval - 50);
    for (let i = 0; i < 4; i++) {
      const reply = await request(api(bookService.pathPrefix));
      expect(reply.status).toBe(200);
      expect(reply.headers['x-local-target']).not.toBe(replica.target);
    }

    await waitFor(
      'the replica to be back in service',
      () => replica.healthy,
      (healthyThreshold + 2) * interval + 5_000,
    );
    expect(replica.pid).not.toBe(oldPid);
    expect(replica.restarts).toBeGreaterThanOrEqual(1);
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
    await waitFor('the new replica to serve', () => replica.healthy, 10_000);
    stop = true;
    await load;
    expect(replica.pid).not.toBe(oldPid);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });
});
