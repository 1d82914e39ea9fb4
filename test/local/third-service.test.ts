// A workspace with a third service (a manifest plus services/<name>) runs with no code change,
// and the stage settings that need a service of our own to show: the integration timeout, the
// Host overwrite and X-Forwarded-* headers, chunked bodies, and throttling past the burst; and
// that its tasks get the node options its Dockerfile gives the image.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../scripts/local/index.ts';
import { containerCommand } from '../../scripts/workspace/container-command.ts';
import { readHttpApiSettings } from '../../scripts/workspace/http-api-settings.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { loadTemplate } from '../../scripts/workspace/template.ts';
import { request } from '../helpers/http.ts';
import { waitFor } from '../helpers/wait.ts';
import { THIRD_SERVICE, workspaceWithThirdService } from './helpers.ts';

// Small on purpose, so tests can cross them quickly; the defaults come from the template. The
// timeout is still long enough for an answer at once on a busy machine.
const TIMEOUT_MS = 2_000;
const RATE = 1;
const BURST = 5;

const fixture = workspaceWithThirdService();
const third = loadWorkspace(fixture.root).services.find((s) => s.name === THIRD_SERVICE);
const books = loadWorkspace().services.find((s) => s.name === 'book-service');
if (!third || !books) throw new Error('the fixture workspace lacks its services');
let stack: LocalStack;
const lines: string[] = [];

/** An access-log line's record, or undefined for the stack's other lines. */
function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  stack = await startLocalStack({
    root: fixture.root,
    apiPort: 0,
    healthCheckScale: 0.1,
    replicaOutput: 'ignore',
    parameters: {
      IntegrationTimeoutMillis: TIMEOUT_MS,
      ThrottlingRateLimit: RATE,
      ThrottlingBurstLimit: BURST,
    },
    log: (line) => lines.push(line),
  });
});

afterAll(async () => {
  await stack?.stop();
  fixture.remove();
});

const api = (path: string) => `${stack.apiUrl}${path}`;

describe('a third service', () => {
  it('is in the route table with its replicas', () => {
    const table = stack.routeTable();
    expect(table).toContain(`ANY ${third.pathPrefix} `);
    expect(table).toContain(`ANY ${third.pathPrefix}/{proxy+}`);
    const row = table.split('\n').find((line) => line.startsWith(`ANY ${third.pathPrefix} `));
    expect(row).toContain(THIRD_SERVICE);
    const service = stack.services.find((s) => s.name === THIRD_SERVICE);
    expect(service?.replicas).toHaveLength(third.minCount);
    for (const replica of service?.replicas ?? []) expect(row).toContain(replica.target);
  });

  it('answers through the API with the Host and X-Forwarded-* the integration and ALB set', async () => {
    const reply = await request(api(`${third.pathPrefix}/anything?x=1`), {
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    expect(reply.status).toBe(200);
    const seen = JSON.parse(reply.body);
    expect(seen).toMatchObject({
      service: THIRD_SERVICE,
      url: `${third.pathPrefix}/anything?x=1`,
      host: stack.albHost,
      // The client's own header, the client (API Gateway appends it), the VPC link (the ALB).
      forwardedFor: '203.0.113.9, 127.0.0.1, 127.0.0.1',
      forwardedProto: 'http',
      forwardedPort: new URL(stack.albUrl).port,
    });
    expect(seen.traceId).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  });

  it("runs each task's node with the options of the service's Dockerfile CMD", async () => {
    const { nodeOptions } = containerCommand(third, fixture.root);
    expect(nodeOptions.length).toBeGreaterThan(0);
    const reply = await request(api(`${third.pathPrefix}/options`));
    expect(reply.status).toBe(200);
    expect((JSON.parse(reply.body).nodeOptions as string[]).slice(0, nodeOptions.length)).toEqual(
      nodeOptions,
    );
  });

  it('streams a chunked request body up and a chunked response down', async () => {
    const echo = await request(api(`${third.pathPrefix}/echo`), {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked' },
      body: Buffer.alloc(100_000, 'y'),
    });
    expect(JSON.parse(echo.body).bodyBytes).toBe(100_000);
    const chunked = await request(api(`${third.pathPrefix}/chunked`));
    expect(chunked.status).toBe(200);
    expect(chunked.body).toBe('first,second');
  });
});

describe('stage settings', () => {
  it("reads its defaults from the template's parameters, and takes overrides", () => {
    // The template's own Defaults, read as CloudFormation would see them: the settings must be
    // those values, not merely some value (a wrong parameter name, a unit slip would show).
    const declared = loadTemplate().Parameters ?? {};
    const defaultOf = (name: string) => Number(declared[name]?.Default);
    const defaults = readHttpApiSettings();
    expect(defaults.integrationTimeoutMs).toBe(defaultOf('IntegrationTimeoutMillis'));
    for (const route of defaults.routes) {
      expect(route.throttling).toEqual({
        rateLimit: defaultOf('ThrottlingRateLimit'),
        burstLimit: defaultOf('ThrottlingBurstLimit'),
      });
    }
    expect(stack.settings.integrationTimeoutMs).toBe(TIMEOUT_MS);
    for (const route of stack.settings.routes) {
      expect(route.throttling).toEqual({ rateLimit: RATE, burstLimit: BURST });
    }
  });

  it('answers 503 {"message":"Service Unavailable"} when the integration times out', async () => {
    // The replica would answer in ten minutes: only the gateway's timeout can answer first.
    const reply = await request(api(`${third.pathPrefix}/sleep/600000`));
    expect(reply.status).toBe(503);
    expect(reply.body).toBe('{"message":"Service Unavailable"}');
    const id = String(reply.headers['apigw-requestid']);
    await waitFor(`the access-log line of ${id}`, () => lines.some((l) => l.includes(`"${id}"`)));
    const entry = JSON.parse(lines.find((l) => l.includes(`"${id}"`)) ?? '{}');
    // The gateway's own record: it gave up no sooner than the timeout.
    expect(Number(entry.responseLatency)).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(entry).toMatchObject({
      status: '503',
      integrationStatus: '-',
      errorMessage: 'Service Unavailable',
    });
    expect(entry.integrationErrorMessage).not.toBe('-');
    // A request under the timeout still gets the service's answer.
    const quick = await request(api(`${third.pathPrefix}/sleep/0`));
    expect(quick.status).toBe(200);
  });

  it('throttles past the burst with 429 {"message":"Too Many Requests"}, per route', async () => {
    // A route nothing else here uses, so its bucket is full.
    const replies = await Promise.all(
      Array.from({ length: BURST * 3 }, () => request(api(`${books.pathPrefix}/1`))),
    );
    const ok = replies.filter((r) => r.status === 200).length;
    const throttled = replies.filter((r) => r.status === 429);
    // The bucket holds BURST, and RATE more drip in each second, over the seconds the gateway
    // recorded these requests in (its access log's requestTime; the bucket's timing itself is
    // tested on a clock of its own, routing-rules.test.ts).
    const ids = new Set(replies.map((r) => String(r.headers['apigw-requestid'])));
    await waitFor(
      'the access-log lines of the burst',
      () => lines.filter((l) => ids.has(String(parseLine(l)?.requestId))).length === ids.size,
    );
    const seconds = lines
      .map(parseLine)
      .filter((e) => ids.has(String(e?.requestId)))
      .map((e) => Date.parse(String(e?.requestTime).replace(':', ' ')) / 1000);
    const span = Math.max(...seconds) - Math.min(...seconds) + 1;
    expect(ok).toBeGreaterThanOrEqual(BURST);
    expect(ok).toBeLessThanOrEqual(BURST + RATE * span);
    expect(throttled.length).toBe(replies.length - ok);
    for (const reply of throttled) expect(reply.body).toBe('{"message":"Too Many Requests"}');
    // Another route has its own bucket.
    expect((await request(api(books.pathPrefix))).status).toBe(200);
  });
});
