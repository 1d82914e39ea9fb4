// smokeRun, the smoke test as a command, when it cannot judge the services: a --url that is not
// one is refused before any request, and a URL where nothing answers gets one cause and the
// command that starts what should listen there, not twelve copies of a connection error.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextAfterFailures, smokeRun } from '../../scripts/checks/smoke-run.ts';
import { cliErrorOf } from '../helpers/cli-error.ts';
import { smokeRunOptions } from './smoke-run-options.ts';

const options = (url: string) => smokeRunOptions({ url });

const failure = (url: string) => cliErrorOf(smokeRun(options(url)));

/** A port nothing listens on: one just released. */
async function closedPort(): Promise<number> {
  const server = http.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeEach(() => {
  // The report and the progress lines: not this test's subject.
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => vi.restoreAllMocks());

describe('the next step after failed checks', () => {
  const smoke = { cmd: 'smoke', token: undefined };
  const refused = [{ status: 401 }, { status: 401 }];

  it('is a token when every failure is a 401 and none was given', () => {
    expect(nextAfterFailures(refused, 'http://127.0.0.1:8080', smoke, '')).toBe(
      'npx zx scripts/smoke.ts --url http://127.0.0.1:8080 --token <a JWT its issuer signed>   (npm start -- --jwt prints one)',
    );
    expect(nextAfterFailures(refused, 'https://api.example.com', smoke, '')).toBe(
      'npx zx scripts/smoke.ts --url https://api.example.com --token <a JWT its issuer signed>',
    );
    expect(nextAfterFailures(refused, undefined, smoke, 'test')).toBe(
      'npx zx scripts/smoke.ts --env test --token <a JWT its issuer signed>',
    );
  });

  it('is where the failures are said otherwise: npm start, diagnose, or the services', () => {
    // One failure that is no 401 (a check that got nothing at all has no status).
    const mixed = [{ status: 401 }, { status: 500 }];
    const silent = [{ status: 401 }, {}];
    for (const failed of [mixed, silent]) {
      expect(nextAfterFailures(failed, 'http://localhost:8080', smoke, 'test')).toMatch(
        /^npm start's output: /,
      );
      expect(nextAfterFailures(failed, undefined, smoke, 'test')).toBe(
        'npx zx scripts/diagnose.ts --env test',
      );
      expect(nextAfterFailures(failed, 'https://api.example.com', smoke, '')).toBe(
        'check the services behind the URL',
      );
    }
    // A token given: its 401s are the token's, said where the requests are logged.
    const given = { cmd: 'smoke', token: 'expired' };
    expect(nextAfterFailures(refused, 'http://[::1]:8080', given, '')).toMatch(
      /^npm start's output: /,
    );
  });
});

describe('smokeRun where nothing answers', () => {
  it('says so once, with the cause and npm start for a URL on this machine', async () => {
    const port = await closedPort();
    const error = await failure(`http://127.0.0.1:${port}`);
    expect(error.what).toBe(`smoke: nothing answered at http://127.0.0.1:${port}`);
    expect(error.why).toMatch(/^request failed: .*ECONNREFUSED/);
    expect(error.next).toMatch(/^npm start /);
  });

  it('takes a URL without a scheme as http', async () => {
    const port = await closedPort();
    const error = await failure(`127.0.0.1:${port}`);
    expect(error.what).toBe(`smoke: nothing answered at http://127.0.0.1:${port}`);
  });

  it('is not said when something answered, even wrongly: the checks that failed are', async () => {
    const server = http.createServer((_req, res) => res.writeHead(500).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const error = await failure(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      expect(error.what).toMatch(/^smoke: \d+ of \d+ checks failed$/);
      // On this machine, not a deploy's diagnose (which asks AWS): npm start's own output.
      expect(error.next).toMatch(/^npm start's output: /);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('smokeRun --url', () => {
  it('refuses what is not a URL before any request, with an example', async () => {
    const error = await failure('http://exa mple');
    expect(error.what).toBe('smoke: invalid --url');
    expect(error.why).toBe('"http://exa mple" is not an http(s) URL');
    expect(error.exitCode).toBe(2);
    expect(error.next).toBe('npx zx scripts/smoke.ts --url http://localhost:8080');
  });

  // `ftp://x` was read as the host "ftp" (`http://ftp://x`) and reported as "nothing answered".
  it('refuses a URL of another scheme, and an --alb that is not a URL, as usage errors', async () => {
    const ftp = await failure('ftp://x');
    expect([ftp.what, ftp.why, ftp.exitCode]).toEqual([
      'smoke: invalid --url',
      '"ftp://x" is not an http(s) URL',
      2,
    ]);
    // Another scheme before an http one is still another scheme.
    const nested = await failure('ftp://http://x');
    expect(nested.why).toBe('"ftp://http://x" is not an http(s) URL');
    const alb = await cliErrorOf(
      smokeRun(smokeRunOptions({ url: 'http://127.0.0.1:1', alb: ':::' })),
    );
    expect([alb.what, alb.why, alb.exitCode]).toEqual([
      'smoke: invalid --alb',
      '":::" is not an http(s) URL',
      2,
    ]);
    expect(alb.next).toMatch(/ --alb <the internal ALB's DNS name> /);
  });
});
