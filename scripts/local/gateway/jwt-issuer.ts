// A local OpenID issuer for `npm start -- --jwt`: an RSA key pair made at start, its public
// key served as a JWKS behind /.well-known/openid-configuration (the discovery document the
// HTTP API JWT authorizer reads), and tokens signed with it. Nothing leaves the machine.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type JWTPayload, SignJWT } from 'jose';

export interface LocalIssuer {
  /** The issuer URL (`iss`), e.g. http://127.0.0.1:54321. */
  url: string;
  /**
   * Signs a token with these claims, valid for `ttlSeconds` (default one hour; null: no `exp`),
   * RS256 unless `alg`, its header naming the issuer's key unless `kid` is null (tests of
   * refusals use both).
   */
  sign(
    claims?: JWTPayload & { ttlSeconds?: number | null; alg?: string; kid?: null },
  ): Promise<string>;
  close(): Promise<void>;
}

export async function startLocalIssuer(host = '127.0.0.1', port = 0): Promise<LocalIssuer> {
  // A Node KeyObject, not a WebCrypto key: it signs with any RSA algorithm (RS256/384/512).
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  // No `alg` on the key, as many issuers publish them: any RSA algorithm may use it.
  const jwks = JSON.stringify({
    keys: [{ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' }],
  });
  let url = '';
  const server = http.createServer((req, res) => {
    const send = (body: string) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    if (req.url === '/.well-known/openid-configuration') {
      send(JSON.stringify({ issuer: url, jwks_uri: `${url}/.well-known/jwks.json` }));
    } else if (req.url === '/.well-known/jwks.json') {
      send(jwks);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  url = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async sign({ ttlSeconds = 3600, alg = 'RS256', kid: keyId, ...claims } = {}) {
      const now = Math.floor(Date.now() / 1000);
      // Defaults first, so a test can override any claim (a foreign `iss`, a future `iat`).
      const exp = ttlSeconds === null ? {} : { exp: now + ttlSeconds };
      return new SignJWT({ iss: url, iat: now, ...exp, ...claims })
        .setProtectedHeader(keyId === null ? { alg } : { alg, kid })
        .sign(privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
