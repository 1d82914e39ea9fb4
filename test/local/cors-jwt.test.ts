// CORS and the JWT authorizer through the local HTTP API, read from the template's parameters
// as on a deploy: the gateway answers preflights itself (a replica never sees one), sets the
// configured CORS headers on what replicas answer, and refuses what the JWT authorizer would.
// smoke.ts and npm start -- --jwt run against it as child processes: cors-jwt.slow.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalIssuer } from '../../scripts/local/gateway/jwt-issuer.ts';
import { httpApiSettingsOf } from '../../scripts/workspace/http-api-settings.ts';
import { loadTemplate } from '../../scripts/workspace/template.ts';
import { rawExchange, request } from '../helpers/http.ts';
import { NO_THROTTLING, stackForSuite } from './helpers.ts';

const ALLOWED = 'https://app.example.com';
const PREFLIGHT = { origin: ALLOWED, 'access-control-request-method': 'GET' };
const issuer = await startLocalIssuer();
const other = await startLocalIssuer();
afterAll(async () => {
  await issuer.close();
  await other.close();
});
const JWT = { JwtIssuer: issuer.url, JwtAudience: 'local' };

describe('CORS on, no authorizer', () => {
  const suite = stackForSuite({
    healthCheckScale: 0.1,
    accessLog: false,
    parameters: { ...NO_THROTTLING, CorsAllowOrigins: `${ALLOWED},https://other.example.com` },
  });

  it('answers a preflight from an allowed origin itself, with the configured headers', async () => {
    const reply = await request(`${suite.stack.apiUrl}/api/books/1`, {
      method: 'OPTIONS',
      headers: { ...PREFLIGHT, 'access-control-request-headers': 'authorization' },
    });
    expect(reply.status).toBe(204);
    expect(reply.headers['x-local-target']).toBeUndefined();
    expect(reply.headers).toMatchObject({
      'access-control-allow-origin': ALLOWED,
      'access-control-allow-methods': 'GET,HEAD,OPTIONS',
      'access-control-allow-headers': 'authorization,content-type,x-request-id',
      'access-control-max-age': '600',
    });
  });

  it('gives a disallowed origin no CORS header, on a preflight or a response', async () => {
    const origin = 'https://evil.example';
    const preflight = await request(`${suite.stack.apiUrl}/api/books`, {
      method: 'OPTIONS',
      headers: { ...PREFLIGHT, origin },
    });
    const get = await request(`${suite.stack.apiUrl}/api/books`, { headers: { origin } });
    for (const reply of [preflight, get]) {
      expect(Object.keys(reply.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
    expect(preflight.headers['x-local-target']).toBeUndefined();
    expect(get.status).toBe(200);
  });

  it('sets the configured headers on what a replica answers', async () => {
    const reply = await request(`${suite.stack.apiUrl}/api/authors`, {
      headers: { origin: ALLOWED },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-local-target']).toBeDefined();
    expect(reply.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(reply.headers['access-control-expose-headers']).toBe('x-request-id');
  });

  it('answers a preflight for a path no route matches', async () => {
    const reply = await request(`${suite.stack.apiUrl}/nowhere`, {
      method: 'OPTIONS',
      headers: PREFLIGHT,
    });
    expect(reply.status).toBe(204);
    expect(reply.headers['access-control-allow-origin']).toBe(ALLOWED);
  });
});

describe('JWT authorizer and CORS on (npm start -- --jwt)', () => {
  const suite = stackForSuite({
    healthCheckScale: 0.1,
    accessLog: false,
    parameters: { ...NO_THROTTLING, ...JWT, CorsAllowOrigins: ALLOWED },
  });
  const get = (token?: string) =>
    request(`${suite.stack.apiUrl}/api/books`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
  const refused = (reason: string) => ({
    status: 401,
    body: '{"message":"Unauthorized"}',
    headers: expect.objectContaining({ 'www-authenticate': expect.stringContaining(reason) }),
  });

  it('serves a request with a token the issuer signed for the audience', async () => {
    const reply = await get(await issuer.sign({ aud: 'local' }));
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toHaveLength(6);
  });

  it('refuses no token, an expired one, a wrong audience and another key', async () => {
    expect(await get()).toMatchObject({ status: 401, body: '{"message":"Unauthorized"}' });
    expect(await get(await issuer.sign({ aud: 'local', ttlSeconds: -60 }))).toMatchObject(
      refused('expired'),
    );
    expect(await get(await issuer.sign({ aud: 'someone-else' }))).toMatchObject(
      refused('audience'),
    );
    // Same issuer URL and claims, signed by a key the issuer does not publish.
    const forged = await other.sign({ iss: issuer.url, aud: 'local' });
    expect((await get(forged)).status).toBe(401);
  });

  it('refuses two Authorization headers, the first valid or not; neither reaches a replica', async () => {
    const valid = await issuer.sign({ aud: 'local' });
    const port = Number(new URL(suite.stack.apiUrl).port);
    for (const [first, second] of [
      [valid, 'garbage'],
      ['garbage', valid],
      [valid, valid],
    ]) {
      const reply = await rawExchange(
        port,
        Buffer.from(
          `GET /api/books HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${first}\r\n` +
            `Authorization: Bearer ${second}\r\nConnection: close\r\n\r\n`,
        ),
        5_000,
      );
      expect(reply.status).toBe(401);
      expect(reply.headers['x-local-target']).toBeUndefined();
      expect(reply.body.toString()).toBe('{"message":"Unauthorized"}');
    }
  });

  it('lets a preflight through without a token, on the OPTIONS routes only', async () => {
    const preflight = await request(`${suite.stack.apiUrl}/api/authors/1`, {
      method: 'OPTIONS',
      headers: PREFLIGHT,
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(preflight.headers['x-local-target']).toBeUndefined();
    // Every other method on the same path still needs a token.
    const post = await request(`${suite.stack.apiUrl}/api/authors/1`, { method: 'POST' });
    expect(post.status).toBe(401);
  });
});

describe('JWT authorizer without CORS', () => {
  const suite = stackForSuite({
    healthCheckScale: 0.1,
    accessLog: false,
    parameters: { ...NO_THROTTLING, ...JWT },
  });

  it("refuses a browser's preflight for lack of a token (why the template adds OPTIONS routes)", async () => {
    const reply = await request(`${suite.stack.apiUrl}/api/books`, {
      method: 'OPTIONS',
      headers: PREFLIGHT,
    });
    expect(reply.status).toBe(401);
  });
});

describe('what the local gateway reads from the template', () => {
  const template = () => structuredClone(loadTemplate());

  it('reads the authorizer of each route and the API CORS configuration, off by default', () => {
    const off = httpApiSettingsOf(template(), 'http-api.yml');
    expect(off.cors).toBeNull();
    expect(off.routes.map((r) => r.authorizer)).toEqual(off.routes.map(() => null));
    const on = httpApiSettingsOf(template(), 'http-api.yml', { ...JWT, CorsAllowOrigins: ALLOWED });
    expect(on.cors?.AllowOrigins).toEqual([ALLOWED]);
    const byKey = Object.fromEntries(on.routes.map((r) => [r.routeKey, r.authorizer]));
    expect(byKey['ANY /api/books']).toEqual({
      logicalId: 'JwtAuthorizer',
      issuer: issuer.url,
      audience: ['local'],
      identityHeader: 'authorization',
    });
    expect(byKey['OPTIONS /api/books']).toBeNull();
  });

  it('refuses a route with an authorizer it cannot emulate, rather than run it open', () => {
    const t = template();
    const route = t.Resources.BookServiceRoute?.Properties as Record<string, unknown>;
    route.AuthorizationType = 'AWS_IAM';
    expect(() => httpApiSettingsOf(t, 'http-api.yml')).toThrow(
      /BookServiceRoute: AuthorizationType AWS_IAM; the local stack emulates JWT authorizers only/,
    );
  });
});
