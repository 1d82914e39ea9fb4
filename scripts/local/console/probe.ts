// The Host tester: one real request to the local ALB's listener with the Host and path the
// user chose, and why the ALB answered as it did, from the same listener rules it routes with.
import http from 'node:http';
import type { LoadBalancer } from '../alb/load-balancer.ts';
import type { LocalStack } from '../handle.ts';
import { hostname } from '../http/request-head.ts';
import { FeedError, type ProbeResult } from './feed.ts';

const PROBE_TIMEOUT_MS = 5_000;
/** A DNS name's limit; anything longer is a typo or an attack, not a Host to test. */
const MAX_HOST_LENGTH = 253;

function send(
  albUrl: string,
  host: string,
  path: string,
  timeoutMs: number,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const signal = AbortSignal.timeout(timeoutMs);
    const request = http.request(`${albUrl}${path}`, {
      headers: { host, 'user-agent': 'local-console-host-tester' },
      agent: false,
      signal,
    });
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve(response));
      // A target that dies mid-body leaves an answer that never ends: its 'close' comes first.
      response.on('close', () => {
        if (!response.complete) {
          reject(
            new Error(
              `GET ${path} with Host ${host}: the answer (status ${response.statusCode}) was cut short`,
            ),
          );
        }
      });
    });
    request.on('error', (error) => {
      // A target that takes no request and sends nothing (a paused replica, before the health
      // checks find it): the wait is over, which is the answer, not the console's own failure.
      if (signal.aborted) {
        reject(
          new FeedError(
            504,
            `GET ${path} with Host ${host}: no answer within ${timeoutMs} ms (a paused or hung target?)`,
          ),
        );
      } else reject(error);
    });
    request.end();
  });
}

function explain(
  alb: LoadBalancer,
  host: string,
  path: string,
  status: number,
  target: string | null,
): string {
  // The name as the listener rule reads it (what follows a colon is no part of it).
  const name = hostname(host);
  const rule = alb.match(host, path);
  if (rule === undefined) {
    const forHost = alb.rules.filter((r) => name === alb.dnsName || r.hosts.includes(name));
    if (forHost.length === 0) {
      const hosts = [alb.dnsName, ...alb.rules.flatMap((r) => r.hosts)].join(', ');
      return `No rule's host-header condition accepts "${name}" (accepted: ${hosts}): the listener's default action answers 503.`;
    }
    const paths = forHost.map((r) => `${r.pathPrefix}, ${r.pathPrefix}/*`).join('; ');
    return `The Host matches, but "${path}" matches no path-pattern of its rules (${paths}): the default action answers 503.`;
  }
  const where = `Rule ${rule.service} (host-header and path-pattern ${rule.pathPrefix}) matched`;
  // A target's own 502 or 503 comes back as it sent it; the ALB's pages name no target.
  if (target === null && status === 503) {
    const states = rule.group.targets.map((t) => `${t.address} ${t.state}`).join(', ');
    return `${where}, but target group ${rule.group.name} has no target that can serve (${states || 'none registered'}): 503.`;
  }
  if (target === null && status === 502)
    return `${where}; the target refused or dropped the connection: 502.`;
  return `${where}; target group ${rule.group.name} sent it to a target in round robin.`;
}

export async function probeAlb(
  stack: LocalStack,
  host: string,
  path: string,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<ProbeResult> {
  if (host === '' || host.length > MAX_HOST_LENGTH || !/^[A-Za-z0-9.:[\]_-]+$/.test(host)) {
    throw new FeedError(
      400,
      `host "${host.slice(0, 80)}" is not a host name (letters, digits, . - _ and a :port)`,
    );
  }
  if (!/^\/[\x21-\x7e]*$/.test(path)) {
    throw new FeedError(
      400,
      `path "${path.slice(0, 80)}" must start with / and hold no spaces or control characters`,
    );
  }
  const { alb } = stack.parts;
  const response = await send(stack.albUrl, host, path, timeoutMs);
  const status = response.statusCode ?? 0;
  const header = response.headers['x-local-target'];
  const target = typeof header === 'string' ? header : null;
  return {
    host,
    path,
    status,
    rule: alb.match(host, path)?.service ?? null,
    target,
    explanation: explain(alb, host, path, status, target),
  };
}
