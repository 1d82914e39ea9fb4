// The smoke test's checks of the HTTP API's options (scripts/checks/smoke-options.ts), against a
// local server scripted to answer as API Gateway does or does not: a CORS preflight from the
// allowed origin answered 204 with that origin, one from another origin with none; without a
// token 401, with it 200. Each way an answer can be wrong is named, as a user reads it.
import { afterEach, describe, expect, it } from 'vitest';
import { optionChecks, withOptionChecks } from '../../scripts/checks/smoke-options.ts';
import { createProgress } from '../../scripts/cli/command.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import {
  type Answer,
  type Asked,
  type RecordingServer,
  recordingServer,
} from '../helpers/recording-server.ts';

const service = loadWorkspace().services[0];
if (!service) throw new Error('the workspace has no service');
const ORIGIN = 'https://app.example.com';
const OTHER = 'https://smoke-test.invalid';

const servers: RecordingServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A server answering each request with `answer(request)`; closed after the test. */
async function api(answer: (req: Asked) => Answer): Promise<RecordingServer> {
  const server = await recordingServer(answer);
  servers.push(server);
  return server;
}

/** API Gateway with CORS allowing ORIGIN and the JWT authorizer wanting `token`. */
const gateway =
  (
    token = 'tok',
    allowOrigin = (origin: string): string | undefined => (origin === ORIGIN ? origin : undefined),
  ) =>
  (req: Asked): Answer => {
    if (req.method === 'OPTIONS') {
      const allowed = allowOrigin(String(req.headers.origin));
      return {
        status: 204,
        ...(allowed ? { headers: { 'access-control-allow-origin': allowed } } : {}),
      };
    }
    return { status: req.headers.authorization === `Bearer ${token}` ? 200 : 401 };
  };

const problemsOf = (checks: Awaited<ReturnType<typeof optionChecks>>) =>
  checks.map((c) => [c.name, c.ok, c.problems]);

describe('the option checks', () => {
  it('pass against a gateway that does as the options say, asking on the first service', async () => {
    const { url, asked } = await api(gateway());
    const checks = await optionChecks(
      url,
      service,
      { corsOrigin: ORIGIN, jwt: { token: 'tok' } },
      2_000,
    );
    expect(problemsOf(checks)).toEqual([
      [`api: CORS preflight from ${ORIGIN} answered by the gateway`, true, []],
      ['api: CORS preflight from another origin gets no allow-origin', true, []],
      ['api: a request without a token is refused (401)', true, []],
      ['api: a request with the token is served', true, []],
    ]);
    expect(checks.every((c) => c.url === `${url}${service.pathPrefix}`)).toBe(true);
    expect(asked.map((r) => [r.method, r.url, r.headers.origin, r.headers.authorization])).toEqual([
      ['OPTIONS', service.pathPrefix, ORIGIN, undefined],
      ['OPTIONS', service.pathPrefix, OTHER, undefined],
      ['GET', service.pathPrefix, undefined, undefined],
      ['GET', service.pathPrefix, undefined, 'Bearer tok'],
    ]);
    for (const preflight of asked.slice(0, 2)) {
      expect(preflight.headers['access-control-request-method']).toBe('GET');
    }
  });

  it('ask nothing when no option is on, and only the refusal when no token is given', async () => {
    const { url, asked } = await api(gateway());
    expect(await optionChecks(url, service, {}, 2_000)).toEqual([]);
    expect(asked).toEqual([]);
    const checks = await optionChecks(url, service, { jwt: { token: undefined } }, 2_000);
    expect(checks.map((c) => c.name)).toEqual(['api: a request without a token is refused (401)']);
  });

  it.each([
    [
      'a preflight answered by the service (200)',
      (req: Asked): Answer =>
        req.method === 'OPTIONS'
          ? { status: 200, headers: { 'access-control-allow-origin': ORIGIN } }
          : { status: 200 },
      `status 200, access-control-allow-origin ${ORIGIN}; expected 204 allowing ${ORIGIN}`,
    ],
    [
      'a 204 without the allowed origin',
      gateway('tok', () => undefined),
      `status 204, access-control-allow-origin absent; expected 204 allowing ${ORIGIN}`,
    ],
    [
      'a 204 allowing another origin',
      gateway('tok', () => 'https://elsewhere.example'),
      `status 204, access-control-allow-origin https://elsewhere.example; expected 204 allowing ${ORIGIN}`,
    ],
  ])('name %s', async (_, answer, problem) => {
    const { url } = await api(answer);
    const [allowed] = await optionChecks(url, service, { corsOrigin: ORIGIN }, 2_000);
    expect([allowed?.ok, allowed?.problems]).toEqual([false, [problem]]);
  });

  it('name an allow-origin sent to another origin', async () => {
    const { url } = await api(gateway('tok', () => '*'));
    const [, other] = await optionChecks(url, service, { corsOrigin: ORIGIN }, 2_000);
    expect([other?.ok, other?.problems]).toEqual([false, ['access-control-allow-origin: *']]);
  });

  it('name a request served without a token, and one refused with it', async () => {
    const open = await api(() => ({ status: 200 }));
    const [without] = await optionChecks(open.url, service, { jwt: { token: undefined } }, 2_000);
    expect(without?.problems).toEqual(['status 200, expected 401']);
    const closed = await api(() => ({ status: 403 }));
    const [, withToken] = await optionChecks(closed.url, service, { jwt: { token: 't' } }, 2_000);
    expect(withToken?.problems).toEqual(['status 403, expected 200']);
  });

  it('are one failed check, named, when the API cannot be reached at all', async () => {
    const { url } = await api(() => ({ status: 204 }));
    await servers.splice(0)[0]?.close();
    const report = {
      passed: true,
      targets: { api: url },
      checks: [],
      latency: { count: 0, p50: 0, p95: 0, max: 0 },
    };
    const lines: string[] = [];
    const log = createProgress('smoke', (line) => lines.push(line));
    const after = await withOptionChecks(report, [service], { corsOrigin: ORIGIN }, 2_000, log);
    expect(after.passed).toBe(false);
    expect(after.checks).toEqual([
      {
        name: 'api: the HTTP API options',
        ok: false,
        url,
        problems: [expect.stringMatching(/^request failed: /)],
      },
    ]);
  });
});
