// Slow and broken clients starve no one and leak nothing. Through the HTTP API, with the
// gateway's slow-client limits shrunk (head 1 s, request 2 s) and the integration timeout at
// 500 ms, so each case is crossed quickly:
// - slowloris: many connections sending their head a byte at a time are each cut (408) before
//   their head is complete, while a normal client keeps being answered;
// - a body sent a byte at a time is cut at the request limit, and the replica sees it go;
// - clients that leave mid-response or mid-body: the replica sees each exchange end (the
//   gateway closes its side), and none stays in flight;
// - a request the replica would answer in ten minutes gets API Gateway's 503
//   `{"message":"Service Unavailable"}` at the integration timeout, and the replica's request is
//   cancelled;
// - at the end no socket, server or child process is left, in this process or outside.
// Deliberate breaks: a server with no slow-client limits, and a proxy that does not pass a
// client's departure upstream, must each be reported by the same checks.
// Every check is on the order and count of events (cut before the head was complete, answered
// while the body was still owed); the times are printed, not asserted, except lower bounds
// (nothing is cut before its limit), which a busy machine cannot break.
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../scripts/local/index.ts';
import { request } from '../helpers/http.ts';
import { HANG_GUARD_MS, waitFor } from '../helpers/wait.ts';
import { manifestService } from '../helpers/workspace.ts';
import {
  FIXTURE_PATH,
  FIXTURE_SERVICE,
  fixtureWorkspace,
  handlesAbove,
  type LoadResult,
  leakProneHandles,
  livePids,
  ms,
  NO_THROTTLING,
  percentiles,
  quietStack,
  runLoad,
  stackLog,
  startedPids,
} from './helpers.ts';

const HEADERS_MS = 1_000;
const REQUEST_MS = 2_000;
const INTEGRATION_TIMEOUT_MS = 500;
const SLOW_CONNECTIONS = 200;
/** A normal request unanswered this long counts as failed (a hang guard, not a measure). */
const NORMAL_TIMEOUT_MS = 15_000;
/** The test's own sockets end after this, whatever the server does (a hang guard). */
const GIVE_UP_MS = 20_000;

const books = manifestService('book-service');

// ---------------------------------------------------------------- slowloris

interface SlowlorisReport {
  /** Per slow connection: ms from connect to the server closing it (undefined: it did not). */
  cutAfter: (number | undefined)[];
  /** Per slow connection: whether its whole head had been sent when it was closed. */
  headSent: boolean[];
  /** When the first slow connection was cut (performance.now()). */
  firstCut: number;
  /** When each normal request was answered (performance.now()). */
  normalAnswers: number[];
  /** What the server said before closing, per distinct answer. */
  answers: Set<string>;
  normal: LoadResult;
}

/** Opens `count` connections that send a request head one byte every 100 ms. */
async function slowloris(port: number, count: number, normalUrl: string, maxMs: number) {
  const cutAfter: (number | undefined)[] = [];
  const headSent: boolean[] = [];
  let firstCut = Number.POSITIVE_INFINITY;
  const answers = new Set<string>();
  const sockets: net.Socket[] = [];
  const closed = Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<void>((resolve) => {
          const opened = performance.now();
          const socket = net.connect({ host: '127.0.0.1', port });
          sockets.push(socket);
          let answer = '';
          const head = `GET ${books?.pathPrefix} HTTP/1.1\r\nHost: x\r\nX-Slow-${i}: ${'a'.repeat(200)}\r\n\r\n`;
          let at = 0;
          const drip = setInterval(() => {
            if (at < head.length) socket.write(head[at++] as string);
          }, 100);
          socket.on('data', (chunk: Buffer) => {
            answer += chunk.toString('latin1');
          });
          socket.on('error', () => {});
          socket.on('close', () => {
            clearInterval(drip);
            if (gaveUp) return resolve();
            headSent[i] = at === head.length;
            firstCut = Math.min(firstCut, performance.now());
            cutAfter[i] = performance.now() - opened;
            answers.add(answer.split('\r\n')[0] || '(closed without an answer)');
            resolve();
          });
        }),
    ),
  );
  // Every loop is bounded: whatever the server does, the test's own sockets end at maxMs.
  let gaveUp = false;
  const giveUp = setTimeout(() => {
    gaveUp = true;
    for (const [i, socket] of sockets.entries()) {
      if (!socket.destroyed) {
        socket.destroy();
        cutAfter[i] = undefined;
      }
    }
  }, maxMs);
  let done = false;
  const normal = runLoad({
    url: normalUrl,
    concurrency: 2,
    maxRequests: 50_000,
    maxMs,
    until: () => done,
    requestTimeoutMs: NORMAL_TIMEOUT_MS,
  });
  await closed;
  done = true;
  clearTimeout(giveUp);
  const result = await normal;
  const normalAnswers = result.answeredAt;
  const report: SlowlorisReport = {
    cutAfter,
    headSent,
    firstCut,
    normalAnswers,
    answers,
    normal: result,
  };
  return report;
}

function slowlorisViolations(report: SlowlorisReport): string[] {
  const violations: string[] = [];
  const uncut = report.cutAfter.filter((t, i) => t === undefined || report.headSent[i]);
  if (uncut.length > 0) {
    violations.push(`${uncut.length} slow connections were not cut before their head was sent`);
  }
  const { normal } = report;
  if (normal.requests === 0) violations.push('the normal client sent nothing');
  else if (!report.normalAnswers.some((at) => at < report.firstCut)) {
    violations.push('the normal client got no answer while the slow connections were open');
  }
  // This stack's integration timeout is short (INTEGRATION_TIMEOUT_MS, for its own test), so on a
  // busy machine a normal request can outlast it and get the gateway's 503: that is the timeout
  // working, not the slow connections getting in the way. Any other failure counts.
  const failed = normal.failures.filter(
    (f) => !(f.status === 503 && f.end - f.start >= INTEGRATION_TIMEOUT_MS),
  );
  if (failed.length > 0) {
    violations.push(`${failed.length} of ${normal.requests} normal requests failed`);
  }
  return violations;
}

// ---------------------------------------------------------------- replicas' view

interface ReplicaStats {
  requests: number;
  inFlight: number;
  aborted: number;
  connections: number;
}

/** The fixture replicas' own counts, asked of each directly (not through the gateway). */
async function fixtureStats(ports: readonly number[]): Promise<ReplicaStats> {
  const all = await Promise.all(
    ports.map(
      async (port) =>
        JSON.parse(
          (await request(`http://127.0.0.1:${port}${FIXTURE_PATH}/stats`)).body,
        ) as ReplicaStats,
    ),
  );
  return all.reduce((sum, s) => ({
    requests: sum.requests + s.requests,
    inFlight: sum.inFlight + s.inFlight,
    aborted: sum.aborted + s.aborted,
    connections: sum.connections + s.connections,
  }));
}

/** Sends `count` requests that the client abandons half-way; returns how many it abandoned. */
async function abandon(
  port: number,
  count: number,
  kind: 'mid-response' | 'mid-body',
): Promise<number> {
  const head =
    kind === 'mid-response'
      ? `GET ${FIXTURE_PATH}/stream HTTP/1.1\r\nHost: x\r\n\r\n`
      : `POST ${FIXTURE_PATH}/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'b'.repeat(1_000)}`;
  const left = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<boolean>((resolve) => {
          const socket = net.connect({ host: '127.0.0.1', port });
          const leave = () => {
            socket.destroy();
            resolve(true);
          };
          socket.on('error', () => resolve(false));
          socket.on('close', () => resolve(false));
          socket.write(head);
          // Mid-response: leave once some of the body has arrived. Mid-body: leave after the
          // replica has had time to start reading.
          if (kind === 'mid-response') {
            let received = 0;
            socket.on('data', (chunk: Buffer) => {
              received += chunk.length;
              if (received > 4_096) leave();
            });
          } else setTimeout(leave, 200);
          setTimeout(() => socket.destroy(), 5_000).unref();
        }),
    ),
  );
  return left.filter(Boolean).length;
}

/** Every abandoned exchange ended at the replica too, and nothing is left in flight there. */
async function abandonViolations(
  ports: readonly number[],
  before: ReplicaStats,
  abandoned: number,
  boundMs = HANG_GUARD_MS,
): Promise<string[]> {
  let now = before;
  try {
    await waitFor(
      'the replicas to see every client leave',
      async () => {
        now = await fixtureStats(ports);
        return now.inFlight === 0 && now.aborted - before.aborted >= abandoned;
      },
      boundMs,
    );
    return [];
  } catch {
    return [
      `the replicas saw ${now.aborted - before.aborted} of ${abandoned} clients leave; ${now.inFlight} requests still in flight`,
    ];
  }
}

// ---------------------------------------------------------------- the tests

describe('slow and broken clients through the HTTP API', () => {
  const fixture = fixtureWorkspace({ realServices: true });
  const log = stackLog();
  let stack: LocalStack;
  let before: Record<string, number>;
  let fixturePorts: number[];
  let apiPort: number;

  beforeAll(async () => {
    before = leakProneHandles();
    stack = await startLocalStack({
      root: fixture.root,
      apiPort: 0,
      healthCheckScale: 0.1,
      replicaOutput: 'ignore',
      log: log.log,
      parameters: {
        IntegrationTimeoutMillis: INTEGRATION_TIMEOUT_MS,
        ...NO_THROTTLING,
      },
      clientTimeouts: { headersMs: HEADERS_MS, requestMs: REQUEST_MS },
    });
    apiPort = Number(new URL(stack.apiUrl).port);
    fixturePorts =
      stack.services.find((s) => s.name === FIXTURE_SERVICE)?.replicas.map((r) => r.port) ?? [];
  });

  afterAll(async () => {
    await stack?.stop();
    fixture.remove();
  });

  it(`cuts ${SLOW_CONNECTIONS} slowloris connections while a normal client is served`, async () => {
    const report = await slowloris(
      apiPort,
      SLOW_CONNECTIONS,
      `${stack.apiUrl}${books.pathPrefix}`,
      GIVE_UP_MS,
    );
    const cut = report.cutAfter.filter((t): t is number => t !== undefined);
    const p = percentiles(report.normal.latencies);
    console.log(
      `slowloris: ${cut.length}/${SLOW_CONNECTIONS} cut after ${ms(Math.min(...cut))}-${ms(Math.max(...cut))} ` +
        `(head limit ${ms(HEADERS_MS)}), answers [${[...report.answers].join(', ')}]; meanwhile ` +
        `${report.normal.requests} normal requests, ${report.normal.failures.length} failed, ` +
        `p50 ${ms(p.p50)} p99 ${ms(p.p99)} max ${ms(p.max)}` +
        (report.normal.failures.length > 0
          ? `; failures: ${JSON.stringify(report.normal.failures)}`
          : ''),
    );
    expect(slowlorisViolations(report)).toEqual([]);
    expect([...report.answers]).toEqual(['HTTP/1.1 408 Request Timeout']);
  });

  /**
   * Sends a 1,000-byte body one byte every 100 ms; resolves with the answer, its time, and how
   * many body bytes had been sent when the answer came and when the connection closed.
   */
  function dripBody(
    port: number,
    host: string,
  ): Promise<{
    answer: string;
    answeredAfter: number;
    after: number;
    sentAtAnswer: number;
    sentAtClose: number;
  }> {
    const started = performance.now();
    const head = `POST ${FIXTURE_PATH}/echo HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 1000\r\n\r\n`;
    return new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      let received = '';
      let answeredAfter = Number.NaN;
      let sent = 0;
      let sentAtAnswer = Number.NaN;
      const drip = setInterval(() => {
        socket.write('b');
        sent++;
      }, 100);
      socket.on('data', (chunk: Buffer) => {
        if (received === '') {
          answeredAfter = performance.now() - started;
          sentAtAnswer = sent;
        }
        received += chunk.toString('latin1');
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(drip);
        const after = performance.now() - started;
        resolve({ answer: received, answeredAfter, after, sentAtAnswer, sentAtClose: sent });
      });
      socket.write(head);
      setTimeout(() => socket.destroy(), GIVE_UP_MS).unref();
    });
  }

  it('cuts a body sent a byte at a time, and the replica sees it go', async () => {
    // Through the API the integration timeout, shorter here, expires first: the local
    // integration starts when the head is forwarded and the body streams behind it.
    let stats = await fixtureStats(fixturePorts);
    const viaApi = await dripBody(apiPort, 'x');
    expect(viaApi.answer.split('\r\n')[0]).toBe('HTTP/1.1 503 Service Unavailable');
    expect(viaApi.answer).toContain('{"message":"Service Unavailable"}');
    // Answered while the body was still owed; Node then reads and drops the rest of it until
    // the request limit closes the connection, the body still unfinished.
    expect(viaApi.answeredAfter).toBeGreaterThanOrEqual(INTEGRATION_TIMEOUT_MS);
    expect(viaApi.sentAtAnswer).toBeLessThan(1000);
    expect(viaApi.sentAtClose).toBeLessThan(1000);
    expect(await abandonViolations(fixturePorts, stats, 1)).toEqual([]);
    // The ALB's listener has no integration timeout: the request limit cuts the client.
    stats = await fixtureStats(fixturePorts);
    const viaAlb = await dripBody(Number(new URL(stack.albUrl).port), stack.albHost);
    console.log(
      `slow body: API answered ${viaApi.answer.split('\r\n')[0]} after ${ms(viaApi.answeredAfter)}, ` +
        `closed after ${ms(viaApi.after)}; ` +
        `ALB listener ${viaAlb.answer.split('\r\n')[0]} after ${ms(viaAlb.after)}`,
    );
    expect(viaAlb.answer.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(viaAlb.after).toBeGreaterThanOrEqual(REQUEST_MS - 50);
    expect(viaAlb.sentAtClose).toBeLessThan(1000);
    expect(await abandonViolations(fixturePorts, stats, 1)).toEqual([]);
  });

  it.each(['mid-response', 'mid-body'] as const)(
    'ends the exchange with the replica when clients leave %s',
    async (kind) => {
      const stats = await fixtureStats(fixturePorts);
      const abandoned = await abandon(apiPort, 20, kind);
      expect(abandoned).toBe(20);
      expect(await abandonViolations(fixturePorts, stats, abandoned)).toEqual([]);
      // And the gateway still serves.
      expect((await request(`${stack.apiUrl}${FIXTURE_PATH}`)).status).toBe(200);
    },
  );

  it('answers 503 at the integration timeout, cancels the replica, and keeps serving others', async () => {
    const stats = await fixtureStats(fixturePorts);
    let done = false;
    const others = runLoad({
      url: `${stack.apiUrl}${books.pathPrefix}`,
      concurrency: 2,
      maxRequests: 50_000,
      maxMs: 5_000,
      until: () => done,
      requestTimeoutMs: NORMAL_TIMEOUT_MS,
    });
    const started = performance.now();
    // Ten minutes: only the gateway giving up can answer, and only its cancel end them.
    const slow = await Promise.all(
      Array.from({ length: 5 }, () => request(`${stack.apiUrl}${FIXTURE_PATH}/sleep/600000`)),
    );
    const after = performance.now() - started;
    done = true;
    const served = await others;
    console.log(
      `integration timeout: 5 requests answered ${slow.map((r) => r.status).join(',')} after ${ms(after)}; ` +
        `meanwhile ${served.requests} other requests, ${served.failures.length} failed`,
    );
    for (const reply of slow) {
      expect(reply.status).toBe(503);
      expect(reply.headers['content-type']).toBe('application/json');
      expect(JSON.parse(reply.body)).toEqual({ message: 'Service Unavailable' });
    }
    expect(after).toBeGreaterThanOrEqual(INTEGRATION_TIMEOUT_MS);
    expect(served.failures).toEqual([]);
    expect(served.requests).toBeGreaterThan(0);
    // Ten minutes before the sleeps end: the gateway closed its side when it gave up.
    expect(await abandonViolations(fixturePorts, stats, 5)).toEqual([]);
  });

  it('leaves no socket, server or process behind once stopped', async () => {
    const pids = startedPids(log);
    expect(pids.length).toBeGreaterThanOrEqual(4);
    // The measure sees the stack (its listeners, pools and child processes) while it runs.
    expect(handlesAbove(before, leakProneHandles()).length).toBeGreaterThan(0);
    await stack.stop();
    // Sockets close asynchronously after stop() resolves; give them a moment, bounded.
    await waitFor(
      'the handles to return to their count before the stack started',
      () => handlesAbove(before, leakProneHandles()).length === 0,
    ).catch(() => {});
    expect(handlesAbove(before, leakProneHandles())).toEqual([]);
    expect(livePids(pids)).toEqual([]);
  });
});

describe('the same checks on deliberately broken servers', () => {
  it('report a server with no slow-client limits', async () => {
    const server = http.createServer({ headersTimeout: 0, requestTimeout: 0 }, (_req, res) =>
      res.end('ok'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      // Never cut: the test's own sockets end after 3 s (a server with limits cuts at 1 s).
      const report = await slowloris(port, 20, `http://127.0.0.1:${port}/`, 3_000);
      expect(slowlorisViolations(report).join('\n')).toMatch(/20 slow connections were not cut/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('report a proxy that does not pass a client leaving on to the replica', async () => {
    const fixture = fixtureWorkspace({ realServices: false });
    const stack = await quietStack(fixture.root);
    const replica = stack.services[0]?.replicas[0];
    if (!replica) throw new Error('no fixture replica');
    // Pipes the replica's answer to the client and never looks back when the client leaves.
    const careless = http.createServer((req, res) => {
      const upstream = http.request(
        { host: '127.0.0.1', port: replica.port, path: req.url, method: req.method, agent: false },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => careless.listen(0, '127.0.0.1', resolve));
    try {
      const port = (careless.address() as net.AddressInfo).port;
      const stats = await fixtureStats([replica.port]);
      const abandoned = await abandon(port, 5, 'mid-response');
      // Bounded short: the replica never sees them leave, however long one waits.
      expect((await abandonViolations([replica.port], stats, abandoned, 3_000)).join('\n')).toMatch(
        /saw 0 of 5 clients leave/,
      );
    } finally {
      careless.closeAllConnections();
      careless.close();
      await stack.stop();
      fixture.remove();
    }
  });
});
