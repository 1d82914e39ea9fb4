// The JWT authorizer's claims at their edges, from both sides: an audience or an issuer that only
// resembles a configured one (a prefix, a suffix, another case, a trailing slash), and `exp` and
// `nbf` at the very second they start or stop counting, on a fixed clock. API Gateway compares
// `iss` and `aud` as given ("iss: Must match the issuer that is configured for the authorizer";
// "aud or client_id: Must match one of the audience entries that is configured for the
// authorizer"), and "exp: Must be after the current time in UTC", "nbf: Must be before the
// current time in UTC" (developer guide, "Control access to HTTP APIs with JWT authorizers").
// At nbf's own second the token is taken, as RFC 7519 §4.1.5 has it ("on or after") and jose
// checks it; that API Gateway does the same at that second is assumed.
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createJwtAuthorizer } from '../../scripts/local/gateway/jwt-authorizer.ts';
import { type LocalIssuer, startLocalIssuer } from '../../scripts/local/gateway/jwt-issuer.ts';

let issuer: LocalIssuer | undefined;
let authorize: ReturnType<typeof createJwtAuthorizer>;

// Started by the first test, not in beforeAll: code run outside any test is static to Stryker
// (vitest.mutate.config.ts).
beforeEach(async () => {
  if (issuer) return;
  issuer = await startLocalIssuer();
  authorize = createJwtAuthorizer({ issuer: issuer.url, audience: ['catalog'] });
});
afterAll(() => issuer?.close());

const reasonOf = async (claims: Parameters<LocalIssuer['sign']>[0]) => {
  const verdict = await authorize(await (issuer as LocalIssuer).sign(claims));
  if (verdict.ok) return 'accepted';
  return /error_description="([^"]*)"/.exec(verdict.headers['www-authenticate'] ?? '')?.[1];
};

/** Runs `check` with the clock at `second` (jose reads `new Date()`, the authorizer Date.now). */
async function at<T>(second: number, check: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ['Date'], now: second * 1000 });
  try {
    return await check();
  } finally {
    vi.useRealTimers();
  }
}

describe('an audience', () => {
  it('is accepted as configured, and refused when it only resembles it', async () => {
    expect(await reasonOf({ aud: 'catalog' })).toBe('accepted');
    expect(await reasonOf({ aud: ['x', 'catalog'] })).toBe('accepted');
    for (const aud of ['Catalog', 'CATALOG', 'catalo', 'catalogs', 'catalog ', ' catalog', '']) {
      expect({ aud, reason: await reasonOf({ aud }) }).toEqual({
        aud,
        reason: 'the token does not have a valid audience',
      });
    }
    expect(await reasonOf({ client_id: 'Catalog' })).toBe(
      'the token does not have a valid audience',
    );
  });
});

describe('an issuer', () => {
  it('is accepted as configured, and refused with a trailing slash, another case or port', async () => {
    const url = (issuer as LocalIssuer).url;
    expect(await reasonOf({ aud: 'catalog', iss: url })).toBe('accepted');
    const port = Number(new URL(url).port);
    for (const iss of [
      `${url}/`,
      url.replace('http://', 'HTTP://'),
      url.replace('http://', 'https://'),
      url.replace(`:${port}`, `:${port + 1}`),
      url.replace('127.0.0.1', 'localhost'),
    ]) {
      expect({ iss, reason: await reasonOf({ aud: 'catalog', iss }) }).toEqual({
        iss,
        reason: 'the token does not have a valid issuer',
      });
    }
  });
});

describe('exp and nbf, on a fixed clock', () => {
  const second = 2_000_000_000;

  it('exp: valid until the second before it, expired from that second on', async () => {
    const claims = { aud: 'catalog', iat: second - 60, exp: second, ttlSeconds: null };
    expect(await at(second - 1, () => reasonOf(claims))).toBe('accepted');
    expect(await at(second, () => reasonOf(claims))).toBe('the token has expired');
    expect(await at(second + 1, () => reasonOf(claims))).toBe('the token has expired');
  });

  it('nbf: not valid the second before it, valid from that second on', async () => {
    const claims = { aud: 'catalog', iat: second - 60, nbf: second, exp: second + 60 };
    const timed = { ...claims, ttlSeconds: null };
    expect(await at(second - 1, () => reasonOf(timed))).toBe('the token is not valid yet');
    expect(await at(second, () => reasonOf(timed))).toBe('accepted');
  });
});
