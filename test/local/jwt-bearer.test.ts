// Near misses of the JWT authorizer's one rewrite of the identity, a leading `Bearer ` dropped:
// a token with `Bearer ` anywhere but at its start is not the token, even where taking that
// text out would leave a valid one. And the local issuer's answer to a path it does not serve.
import { afterEach, describe, expect, it } from 'vitest';
import { createJwtAuthorizer } from '../../scripts/local/gateway/jwt-authorizer.ts';
import { type LocalIssuer, startLocalIssuer } from '../../scripts/local/gateway/jwt-issuer.ts';
import { request } from '../helpers/http.ts';

let issuer: LocalIssuer | undefined;
afterEach(async () => {
  await issuer?.close();
  issuer = undefined;
});

describe('an identity with Bearer inside the token', () => {
  it('is refused, although the token without it is accepted', async () => {
    issuer = await startLocalIssuer();
    const authorize = createJwtAuthorizer({ issuer: issuer.url, audience: ['catalog'] });
    const token = await issuer.sign({ aud: 'catalog' });
    expect(await authorize(`Bearer ${token}`)).toMatchObject({ ok: true });
    const dot = token.lastIndexOf('.');
    for (const at of [10, dot, token.length - 4]) {
      const identity = `${token.slice(0, at)}Bearer ${token.slice(at)}`;
      const verdict = await authorize(identity);
      expect({ at, ok: verdict.ok, status: verdict.ok ? 200 : verdict.status }).toEqual({
        at,
        ok: false,
        status: 401,
      });
    }
  });
});

describe('the local issuer', () => {
  it('answers 404 to a path other than its discovery document and key set', async () => {
    issuer = await startLocalIssuer();
    for (const path of ['/', '/.well-known/jwks', '/.well-known/openid-configuration/x']) {
      const reply = await request(`${issuer.url}${path}`);
      expect({ path, status: reply.status }).toEqual({ path, status: 404 });
    }
    const discovery = await request(`${issuer.url}/.well-known/openid-configuration`);
    expect(JSON.parse(discovery.body)).toEqual({
      issuer: issuer.url,
      jwks_uri: `${issuer.url}/.well-known/jwks.json`,
    });
  });
});
