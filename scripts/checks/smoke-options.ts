// The smoke checks of the HTTP API's options (addons/http-api.yml), the same against the local
// stack and a deploy: with CORS on, a preflight from an allowed origin is answered by API
// Gateway with that origin allowed, and one from another origin is not; with the JWT authorizer
// on, a request without a token is refused with 401 and one with the given token is served.
// The preflight's status (204) is what the local stack assumes (docs/verified.md): a deploy is
// where that assumption is confirmed or refuted.
import type { Progress } from '../cli/command.ts';
import type { Service } from '../workspace/manifests.ts';
import {
  type CheckResult,
  checkResult,
  joinUrl,
  type SmokeReport,
  withApiChecks,
} from './smoke-checks.ts';

/** What is on: the origin to send preflights from (CORS), whether a token is needed (JWT). */
export interface ApiOptions {
  corsOrigin?: string | undefined;
  jwt?: { token: string | undefined } | undefined;
}

/** An origin no CorsAllowOrigins list names. */
const OTHER_ORIGIN = 'https://smoke-test.invalid';

interface Answer {
  status: number;
  headers: Headers;
}

async function ask(url: string, init: RequestInit, timeoutMs: number): Promise<Answer> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  return { status: res.status, headers: res.headers };
}

const check = (name: string, url: string, answer: Answer, problem?: string): CheckResult =>
  checkResult(name, url, answer.status, problem);

const preflight = (origin: string) => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': 'GET' },
});

async function corsChecks(url: string, origin: string, timeoutMs: number) {
  const allowed = await ask(url, preflight(origin), timeoutMs);
  const other = await ask(url, preflight(OTHER_ORIGIN), timeoutMs);
  const got = allowed.headers.get('access-control-allow-origin');
  const stray = other.headers.get('access-control-allow-origin');
  return [
    check(
      `api: CORS preflight from ${origin} answered by the gateway`,
      url,
      allowed,
      allowed.status !== 204 || got !== origin
        ? `status ${allowed.status}, access-control-allow-origin ${got ?? 'absent'}; expected 204 allowing ${origin}`
        : undefined,
    ),
    check(
      `api: CORS preflight from another origin gets no allow-origin`,
      url,
      other,
      stray === null ? undefined : `access-control-allow-origin: ${stray}`,
    ),
  ];
}

async function jwtChecks(url: string, token: string | undefined, timeoutMs: number) {
  const without = await ask(url, {}, timeoutMs);
  const results = [
    check(
      'api: a request without a token is refused (401)',
      url,
      without,
      without.status === 401 ? undefined : `status ${without.status}, expected 401`,
    ),
  ];
  if (token !== undefined) {
    const withToken = await ask(url, { headers: { authorization: `Bearer ${token}` } }, timeoutMs);
    results.push(
      check(
        'api: a request with the token is served',
        url,
        withToken,
        withToken.status === 200 ? undefined : `status ${withToken.status}, expected 200`,
      ),
    );
  }
  return results;
}

/** The option checks against the first service's list, or none when no option is on. */
export async function optionChecks(
  apiUrl: string,
  service: Service,
  options: ApiOptions,
  timeoutMs: number,
): Promise<CheckResult[]> {
  const url = joinUrl(apiUrl, service.pathPrefix);
  return [
    ...(options.corsOrigin ? await corsChecks(url, options.corsOrigin, timeoutMs) : []),
    ...(options.jwt ? await jwtChecks(url, options.jwt.token, timeoutMs) : []),
  ];
}

/** Adds the option checks to a smoke report made against the API. */
export function withOptionChecks(
  report: SmokeReport,
  services: readonly Service[],
  options: ApiOptions,
  timeoutMs: number,
  log: Progress,
): Promise<SmokeReport> {
  return withApiChecks(
    report,
    services,
    'api: the HTTP API options',
    (api, service) => optionChecks(api, service, options, timeoutMs),
    log,
  );
}
