// A local OpenID issuer for `npm start -- --jwt`: an RSA key pair made at start, its public
// key served as a JWKS behind /.well-known/openid-configuration (the discovery document the
// HTTP API JWT authorizer reads), and tokens signed with it. Nothing leaves the machine.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

export interface LocalIssuer {
  /** The issuer URL (`iss`), e.g. http://127.0.0.1:54321. */
  url: string;
  /** Signs a token for `audience`, valid for `ttlSeconds` (default one hour). */
  sign(claims?: JWTPayload & { ttlSeconds?: number }): Promise<string>;
  close(): Promise<void>;
}

export async function startLocalIssuer(host = '127.0.0.1', port = 0): Promise<LocalIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = randomUUID();
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }],
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
    async sign({ ttlSeconds = 3600, ...claims } = {}) {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuer(url)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
        .sign(privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
