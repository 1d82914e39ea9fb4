// The local JWT authorizer against a local issuer: what the HTTP API JWT authorizer accepts and
// refuses (API Gateway developer guide, "Control access to HTTP APIs with JWT authorizers").
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJwtAuthorizer } from '../../scripts/lib/local/jwt-authorizer.ts';
import { type LocalIssuer, startLocalIssuer } from '../../scripts/lib/local/jwt-issuer.ts';

let issuer: LocalIssuer;
let authorize: ReturnType<typeof createJwtAuthorizer>;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  issuer = await startLocalIssuer();
  authorize = createJwtAuthorizer({ issuer: issuer.url, audience: ['catalog', 'admin'] });
});
afterAll(() => issuer.close());

function refusedWith(verdict: Awaited<ReturnType<typeof authorize>>, reason: RegExp | undefined) {
  expect(verdict.ok).toBe(false);
  if (verdict.ok) return;
  expect(verdict.status).toBe(401);
  expect(JSON.parse(verdict.body)).toEqual({ message: 'Unauthorized' });
  if (reason) expect(verdict.headers['www-authenticate']).toMatch(reason);
  else expect(verdict.headers['www-authenticate']).toBeUndefined();
}

describe('the local JWT authorizer', () => {
  it('accepts a token from the issuer for a configured audience, with or without Bearer', async () => {
    const token = await issuer.sign({ aud: 'catalog', sub: 'alice' });
    expect(await authorize(`Bearer ${token}`)).toMatchObject({
      ok: true,
      claims: { sub: 'alice' },
    });
    expect((await authorize(token)).ok).toBe(true);
  });

  it('refuses a request with no token, with no reason given', async () => {
    refusedWith(await authorize(undefined), undefined);
    refusedWith(await authorize('Bearer '), undefined);
  });

  it('refuses an expired token', async () => {
    const token = await issuer.sign({ aud: 'catalog', ttlSeconds: -60 });
    refusedWith(
      await authorize(token),
      /error="invalid_token" error_description="the token has expired"/,
    );
  });

  it('refuses a token for another audience, as the troubleshooting guide shows', async () => {
    const token = await issuer.sign({ aud: 'billing' });
    refusedWith(
      await authorize(token),
      /^Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"$/,
    );
  });

  it('checks client_id only when there is no aud', async () => {
    expect((await authorize(await issuer.sign({ client_id: 'admin' }))).ok).toBe(true);
    refusedWith(await authorize(await issuer.sign({ client_id: 'other' })), /valid audience/);
    refusedWith(
      await authorize(await issuer.sign({ aud: 'other', client_id: 'admin' })),
      /valid audience/,
    );
  });

  it('refuses a token not valid yet', async () => {
    const token = await issuer.sign({ aud: 'catalog', nbf: now() + 600 });
    refusedWith(await authorize(token), /invalid_token/);
  });

  it('refuses a token signed by another key, even under the same kid and issuer', async () => {
    const genuine = await issuer.sign({ aud: 'catalog' });
    const [header] = genuine.split('.');
    const { kid } = JSON.parse(Buffer.from(header ?? '', 'base64url').toString()) as {
      kid: string;
    };
    const other = await generateKeyPair('RS256');
    const forged = await new SignJWT({ aud: 'catalog' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(issuer.url)
      .setExpirationTime(now() + 600)
      .sign(other.privateKey);
    refusedWith(await authorize(forged), /invalid signature/);
  });

  it('refuses a token from another issuer', async () => {
    const stranger = await startLocalIssuer();
    try {
      refusedWith(await authorize(await stranger.sign({ aud: 'catalog' })), /invalid_token/);
    } finally {
      await stranger.close();
    }
  });

  it('refuses a shared-secret (HS256) token: RSA-based algorithms only', async () => {
    const token = await new SignJWT({ aud: 'catalog' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(issuer.url)
      .setExpirationTime(now() + 600)
      .sign(new TextEncoder().encode('a-shared-secret-of-enough-length!!'));
    refusedWith(await authorize(token), /invalid_token/);
  });
});
