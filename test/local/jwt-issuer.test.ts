// The local OpenID issuer of `npm start -- --jwt` (scripts/local/gateway/jwt-issuer.ts) as any
// client sees it over HTTP: the discovery document and the JWKS it names, both JSON; nothing
// else (a 404, not the keys, for any other path, a near miss of the JWKS path included); and
// the port closed once the issuer is.
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalIssuer, startLocalIssuer } from '../../scripts/local/gateway/jwt-issuer.ts';

let issuer: LocalIssuer | undefined;
afterEach(async () => {
  await issuer?.close();
  issuer = undefined;
});

describe('the local issuer', () => {
  it('serves its discovery document and the JWKS it names, as JSON', async () => {
    issuer = await startLocalIssuer();
    const discovery = await fetch(`${issuer.url}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    expect(discovery.headers.get('content-type')).toBe('application/json');
    const document = (await discovery.json()) as { issuer: string; jwks_uri: string };
    expect(document).toEqual({
      issuer: issuer.url,
      jwks_uri: `${issuer.url}/.well-known/jwks.json`,
    });
    const jwks = await fetch(document.jwks_uri);
    expect(jwks.status).toBe(200);
    expect(jwks.headers.get('content-type')).toBe('application/json');
    const { keys } = (await jwks.json()) as { keys: { kty: string; kid: string; use: string }[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'RSA', use: 'sig' });
    // The key the tokens name is the key served.
    const token = await issuer.sign();
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString());
    expect(header).toEqual({ alg: 'RS256', kid: keys[0]?.kid });
  });

  it('answers 404 with no body for any other path', async () => {
    issuer = await startLocalIssuer();
    for (const path of ['/', '/.well-known/jwks', '/.well-known/jwks.json/', '/jwks.json']) {
      const response = await fetch(`${issuer.url}${path}`);
      expect({ path, status: response.status, body: await response.text() }).toEqual({
        path,
        status: 404,
        body: '',
      });
    }
  });

  it('closes its port when closed', async () => {
    const started = await startLocalIssuer();
    await fetch(`${started.url}/.well-known/openid-configuration`).then((r) => r.text());
    await started.close();
    await expect(fetch(`${started.url}/.well-known/openid-configuration`)).rejects.toThrow(
      /fetch failed/,
    );
  });
});
