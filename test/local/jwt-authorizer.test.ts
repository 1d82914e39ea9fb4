// The local JWT authorizer against a local issuer: what the HTTP API JWT authorizer accepts and
// refuses (API Gateway developer guide, "Control access to HTTP APIs with JWT authorizers").
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createJwtAuthorizer,
  type JwtVerdict,
} from '../../scripts/local/gateway/jwt-authorizer.ts';
import { type LocalIssuer, startLocalIssuer } from '../../scripts/local/gateway/jwt-issuer.ts';

let issuer: LocalIssuer;
let started = false;
let authorize: ReturnType<typeof createJwtAuthorizer>;
const now = () => Math.floor(Date.now() / 1000);

// Started by the first test rather than in beforeAll: code a mutation tool sees run outside any
// test is "static" to it, and costs a run of every test per mutant (vitest.mutate.config.ts).
beforeEach(async () => {
  if (started) return;
  started = true;
  issuer = await startLocalIssuer();
  authorize = createJwtAuthorizer({ issuer: issuer.url, audience: ['catalog', 'admin'] });
});
afterAll(() => issuer.close());

/** A refusal as API Gateway answers it; `reason` is the www-authenticate error_description. */
function refusedWith(verdict: JwtVerdict, reason: string | undefined) {
  expect(verdict).toEqual({
    ok: false,
    status: 401,
    body: '{"message":"Unauthorized"}',
    headers: reason
      ? {
          'www-authenticate': `Bearer scope="" error="invalid_token" error_description="${reason}"`,
        }
      : {},
  });
}

describe('the local JWT authorizer accepts', () => {
  it('a token from the issuer for a configured audience, with or without Bearer', async () => {
    const token = await issuer.sign({ aud: 'catalog', sub: 'alice' });
    expect(await authorize(`Bearer ${token}`)).toMatchObject({
      ok: true,
      claims: { sub: 'alice' },
    });
    expect((await authorize(token)).ok).toBe(true);
  });

  it('a token whose aud list names one configured audience among others', async () => {
    expect((await authorize(await issuer.sign({ aud: ['billing', 'admin'] }))).ok).toBe(true);
  });

  it('client_id when there is no aud', async () => {
    expect((await authorize(await issuer.sign({ client_id: 'admin' }))).ok).toBe(true);
  });

  it('a token issued this very second', async () => {
    const second = now();
    const token = await issuer.sign({ aud: 'catalog', iat: second });
    // The authorizer's clock exactly at iat: "not in the future" includes now.
    const clock = vi.spyOn(Date, 'now').mockReturnValue(second * 1000);
    try {
      expect((await authorize(token)).ok).toBe(true);
    } finally {
      clock.mockRestore();
    }
  });

  it('a token after any amount of whitespace after Bearer', async () => {
    const token = await issuer.sign({ aud: 'catalog' });
    expect((await authorize(`bearer \t ${token}`)).ok).toBe(true);
  });

  it("with the issuer's keys fetched once and kept, as a key cache does", async () => {
    const own = await startLocalIssuer();
    const cached = createJwtAuthorizer({ issuer: own.url, audience: ['catalog'] });
    expect((await cached(await own.sign({ aud: 'catalog' }))).ok).toBe(true);
    // The issuer unreachable from now on: the keys already fetched still verify its tokens.
    await own.close();
    expect((await cached(await own.sign({ aud: 'catalog' }))).ok).toBe(true);
  });

  it('every RSA algorithm', async () => {
    for (const alg of ['RS256', 'RS384', 'RS512']) {
      expect((await authorize(await issuer.sign({ aud: 'catalog', alg }))).ok, alg).toBe(true);
    }
  });
});

describe('the local JWT authorizer refuses', () => {
  it('a request with no token, giving no reason', async () => {
    refusedWith(await authorize(undefined), undefined);
    refusedWith(await authorize('Bearer '), undefined);
  });

  it('an expired token', async () => {
    refusedWith(
      await authorize(await issuer.sign({ aud: 'catalog', ttlSeconds: -60 })),
      'the token has expired',
    );
  });

  it('a token for another audience, as the troubleshooting guide shows', async () => {
    refusedWith(
      await authorize(await issuer.sign({ aud: 'billing' })),
      'the token does not have a valid audience',
    );
  });

  it('a client_id outside the audiences, and a wrong aud whatever client_id says', async () => {
    const reason = 'the token does not have a valid audience';
    refusedWith(await authorize(await issuer.sign({ client_id: 'other' })), reason);
    refusedWith(await authorize(await issuer.sign({ aud: 'other', client_id: 'admin' })), reason);
  });

  it('a token not valid yet, or issued in the future', async () => {
    refusedWith(
      await authorize(await issuer.sign({ aud: 'catalog', nbf: now() + 600 })),
      'the token is not valid yet',
    );
    refusedWith(
      await authorize(await issuer.sign({ aud: 'catalog', iat: now() + 600 })),
      'the token was issued in the future',
    );
  });

  it('a token whose iat is not a number', async () => {
    refusedWith(
      await authorize(await issuer.sign({ aud: 'catalog', iat: 'yesterday' as never })),
      'the token has an invalid iat claim',
    );
  });

  it('a token whose Bearer prefix is not at the start', async () => {
    const token = await issuer.sign({ aud: 'catalog' });
    refusedWith(await authorize(`xBearer ${token}`), 'the token is invalid');
  });

  it('a token of the right key naming another issuer', async () => {
    refusedWith(
      await authorize(await issuer.sign({ aud: 'catalog', iss: 'https://other.example.com' })),
      'the token does not have a valid issuer',
    );
  });

  it('a token signed by another key under the issuer key id', async () => {
    const genuine = await issuer.sign({ aud: 'catalog' });
    const { kid } = JSON.parse(Buffer.from(genuine.split('.')[0] ?? '', 'base64url').toString());
    const other = await generateKeyPair('RS256');
    const forged = await new SignJWT({ aud: 'catalog', iss: issuer.url, exp: now() + 600 })
      .setProtectedHeader({ alg: 'RS256', kid })
      .sign(other.privateKey);
    refusedWith(await authorize(forged), 'the token has an invalid signature');
  });

  it('a token from another issuer, whose key this issuer does not publish', async () => {
    const stranger = await startLocalIssuer();
    try {
      refusedWith(
        await authorize(await stranger.sign({ aud: 'catalog', iss: issuer.url })),
        'the token has no key the issuer publishes',
      );
    } finally {
      await stranger.close();
    }
  });

  it('a token with no kid, though the issuer publishes a single key', async () => {
    refusedWith(
      await authorize(await issuer.sign({ aud: 'catalog', kid: null })),
      'the token has no kid',
    );
  });

  it('a token with no exp', async () => {
    refusedWith(
      await authorize(await issuer.sign({ aud: 'catalog', ttlSeconds: null })),
      'the token has no exp claim',
    );
  });

  it('a shared-secret (HS256) token: RSA-based algorithms only', async () => {
    const genuine = await issuer.sign({ aud: 'catalog' });
    const { kid } = JSON.parse(Buffer.from(genuine.split('.')[0] ?? '', 'base64url').toString());
    const token = await new SignJWT({ aud: 'catalog', iss: issuer.url, exp: now() + 600 })
      .setProtectedHeader({ alg: 'HS256', kid })
      .sign(new TextEncoder().encode('a-shared-secret-of-enough-length!!'));
    refusedWith(await authorize(token), 'the token is invalid');
  });
});
