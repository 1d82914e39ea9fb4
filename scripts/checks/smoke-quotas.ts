// Checks, on a real HTTP API, what the local stack assumes about one of API Gateway's quotas:
// "Total combined size of request line and header values: 10240 bytes" (Quotas for
// configuring and running an HTTP API in API Gateway). The page does not say what a client
// gets past it, nor exactly what is counted, so scripts/local/gateway/http-api.ts assumes: the
// request line and the header lines (each with its CRLF), 10,240 bytes allowed, and a 431
// beyond (docs/verified.md, "Local stack"). These two requests, at the limit and one byte
// past it, are where a deploy confirms or refutes that. Run only against an API Gateway (its
// answers carry `apigw-requestid`), which includes the local stack's.
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { text } from 'node:stream/consumers';
import type { Progress } from '../cli/command.ts';
import { HEAD_LIMIT_BYTES } from '../workspace/http-api-settings.ts';
import type { Service } from '../workspace/manifests.ts';
import {
  type CheckResult,
  checkResult,
  joinUrl,
  type SmokeReport,
  withApiChecks,
} from './smoke-checks.ts';

const PAD_HEADER = 'X-Smoke-Pad';

interface Answer {
  status: number;
  gateway: boolean;
  body: string;
}

/**
 * A GET whose request line and header lines come to exactly `size` bytes: every header is
 * given, so Node's client adds none of its own (it adds Host and Connection only when absent).
 */
async function getWithHead(url: string, size: number, timeoutMs: number): Promise<Answer> {
  const u = new URL(url);
  const target = `${u.pathname}${u.search}`;
  const fixed: [string, string][] = [
    ['Host', u.host],
    ['Connection', 'close'],
  ];
  let used = `GET ${target} HTTP/1.1\r\n`.length + `${PAD_HEADER}: \r\n`.length;
  for (const [name, value] of fixed) used += `${name}: ${value}\r\n`.length;
  const headers = Object.fromEntries([
    ...fixed,
    [PAD_HEADER, 'p'.repeat(Math.max(0, size - used))],
  ]);
  const lib = u.protocol === 'https:' ? https : http;
  const req = lib.request(u, { method: 'GET', headers, agent: false, timeout: timeoutMs });
  req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
  req.end();
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  const body = await text(res);
  return {
    status: res.statusCode ?? 0,
    gateway: res.headers['apigw-requestid'] !== undefined,
    body: body.slice(0, 200),
  };
}

const result = (name: string, url: string, answer: Answer, problem: string | undefined) =>
  checkResult(name, url, answer.status, problem);

/** The two checks, or none when `apiUrl` is not an API Gateway. */
export async function headQuotaChecks(
  apiUrl: string,
  service: Service,
  timeoutMs: number,
): Promise<CheckResult[]> {
  const url = joinUrl(apiUrl, service.health.path);
  const probe = await getWithHead(url, 200, timeoutMs);
  if (!probe.gateway) return [];
  const at = await getWithHead(url, HEAD_LIMIT_BYTES, timeoutMs);
  const over = await getWithHead(url, HEAD_LIMIT_BYTES + 1, timeoutMs);
  const assumption =
    'the local stack assumes otherwise: update scripts/local/gateway/http-api.ts and docs/verified.md';
  return [
    result(
      `api: a ${HEAD_LIMIT_BYTES}-byte request head reaches ${service.name}`,
      url,
      at,
      at.status === probe.status
        ? undefined
        : `status ${at.status} where a small head got ${probe.status}; ${assumption}`,
    ),
    result(
      `api: a ${HEAD_LIMIT_BYTES + 1}-byte request head gets API Gateway's 431`,
      url,
      over,
      over.status === 431
        ? undefined
        : `status ${over.status}, expected 431 (body: ${over.body}); ${assumption}`,
    ),
  ];
}

/** Adds the head-quota checks to a smoke report made against the API (not on the bastion). */
export function withHeadQuotaChecks(
  report: SmokeReport,
  services: readonly Service[],
  timeoutMs: number,
  log: Progress,
): Promise<SmokeReport> {
  return withApiChecks(
    report,
    services,
    'api: the request-head quota',
    (api, service) => headQuotaChecks(api, service, timeoutMs),
    log,
  );
}
