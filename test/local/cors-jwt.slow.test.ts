// The JWT authorizer and CORS, end to end with child processes: smoke.ts as a user runs it
// against a stack with both on, and `npm start -- --jwt`, which prints a token its gateway
// accepts. The gateway's own behaviour, in process: cors-jwt.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalIssuer } from '../../scripts/local/gateway/jwt-issuer.ts';
import { request } from '../helpers/http.ts';
import { runScript } from '../scripts/harness.ts';
import { NO_THROTTLING, npmStart, stackForSuite } from './helpers.ts';

const ALLOWED = 'https://app.example.com';
const issuer = await startLocalIssuer();
afterAll(() => issuer.close());

describe('smoke.ts against the JWT authorizer and CORS', () => {
  const suite = stackForSuite({
    healthCheckScale: 0.1,
    accessLog: false,
    parameters: {
      ...NO_THROTTLING,
      JwtIssuer: issuer.url,
      JwtAudience: 'local',
      CorsAllowOrigins: ALLOWED,
    },
  });

  it('passes smoke.ts with the token and the allowed origin, and fails it with a token for another audience', async () => {
    const token = await issuer.sign({ aud: 'local' });
    const args = ['--url', suite.stack.apiUrl, '--samples', '0', '--cors-origin', ALLOWED];
    const passed = await runScript('smoke', [...args, '--token', token], {});
    expect(passed.code, passed.stderr).toBe(0);
    expect(passed.stderr).toMatch(
      /ok api: CORS preflight from https:\/\/app\.example\.com answered/,
    );
    expect(passed.stderr).toMatch(/ok api: a request without a token is refused \(401\)/);
    expect(passed.stderr).toMatch(/ok api: a request with the token is served/);
    // A token the issuer did not sign for this audience: every service check gets 401.
    const refused = await runScript(
      'smoke',
      [...args, '--token', await issuer.sign({ aud: 'x' })],
      {},
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/FAIL api: a request with the token is served: status 401/);
  }, 120_000);
});

describe('npm start -- --jwt', () => {
  it('prints a token the local gateway accepts; without it the gateway refuses', async () => {
    const run = npmStart([
      '--jwt',
      '--port',
      '0',
      '--console-port',
      '0',
      '--quiet',
      '--health-check-scale',
      '0.1',
    ]);
    try {
      const [, apiUrl] = await run.waitFor(/HTTP API {2}(http:\/\/\S+)/, 30_000);
      const [, token] = await run.waitFor(/^ {2}TOKEN=(\S+)$/m, 30_000);
      const withToken = await request(`${apiUrl}/api/books/1`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(withToken.status).toBe(200);
      expect((await request(`${apiUrl}/api/books/1`)).status).toBe(401);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  }, 430_000);
});
