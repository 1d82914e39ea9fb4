// The console's server over a fake feed, through HTTP: its refusals (a foreign Host, Origin or
// content type) as application/problem+json and before any action runs; the actions and the
// Host tester with their bodies at the 4 KB edge; the page's files and the JSON views; and a
// clear problem for every other request.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createConsoleServer, MAX_BODY_BYTES } from '../../../scripts/local/console/server.ts';
import { type Reply, request } from '../../helpers/http.ts';
import { FakeFeed } from './fake-feed.ts';

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function serve(feed: FakeFeed): Promise<string> {
  const created = createConsoleServer(feed);
  server = created;
  await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(created.address() as AddressInfo).port}`;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

function post(url: string, body: string, headers: Record<string, string> = JSON_HEADERS) {
  return request(url, { method: 'POST', headers, body: Buffer.from(body) });
}

function problem(reply: Reply) {
  expect(reply.headers['content-type']).toBe('application/problem+json');
  return JSON.parse(reply.body) as { type: string; title: string; status: number; detail: string };
}

describe('an action', () => {
  it('runs when it comes from no origin or the console page, as JSON', async () => {
    const feed = new FakeFeed();
    const url = await serve(feed);
    const reply = await post(`${url}/api/replicas/book-service/1/stop`, '{}');
    expect(reply.status).toBe(202);
    expect(JSON.parse(reply.body)).toEqual({ message: 'done' });
    const fromPage = await post(`${url}/api/replicas/author-service/0/pause`, '{}', {
      ...JSON_HEADERS,
      origin: url,
    });
    expect(fromPage.status).toBe(202);
    expect(feed.acted).toEqual([
      ['book-service', 1, 'stop'],
      ['author-service', 0, 'pause'],
    ]);
  });

  it('is refused from another origin, before it runs', async () => {
    const feed = new FakeFeed();
    const url = await serve(feed);
    for (const origin of ['https://evil.test', 'http://localhost.evil.test', 'null']) {
      const reply = await post(`${url}/api/replicas/book-service/0/kill`, '{}', {
        ...JSON_HEADERS,
        origin,
      });
      expect(reply.status).toBe(403);
      expect(problem(reply)).toEqual({
        type: 'about:blank',
        title: 'Forbidden',
        status: 403,
        detail: `actions are accepted only from the console's own page, not ${origin}`,
      });
    }
    expect(feed.acted).toEqual([]);
  });

  it('is refused without a JSON content type, before it runs', async () => {
    const feed = new FakeFeed();
    const url = await serve(feed);
    for (const headers of [
      {},
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/jsonp' },
    ]) {
      const reply = await post(`${url}/api/replicas/book-service/0/kill`, '{}', headers);
      expect(reply.status).toBe(415);
      expect(problem(reply).detail).toBe('send the action as application/json');
    }
    expect(feed.acted).toEqual([]);
  });

  it('is refused for a foreign Host, as any request is', async () => {
    const feed = new FakeFeed();
    const url = await serve(feed);
    const reply = await post(`${url}/api/replicas/book-service/0/kill`, '{}', {
      ...JSON_HEADERS,
      host: 'evil.test',
    });
    expect(reply.status).toBe(403);
    const page = await request(`${url}/`, { headers: { host: 'rebind.evil.test:8081' } });
    expect(page.status).toBe(403);
    expect(feed.acted).toEqual([]);
  });

  it('names the actions there are when the path is none of them', async () => {
    const url = await serve(new FakeFeed());
    for (const path of [
      '/api/replicas/book-service/0/explode',
      '/api/replicas/Book/0/stop',
      '/api/replicas/book-service/x/stop',
      '/api/replicas/book-service/0/stop/',
      '/api/replicas/book-service/0',
      '/api/other',
    ]) {
      const reply = await post(`${url}${path}`, '{}');
      expect({ path, status: reply.status }).toEqual({ path, status: 404 });
      expect(problem(reply).detail).toBe(
        `no action at POST ${path} (try POST /api/replicas/<service>/<slot>/<stop|kill|pause|resume>)`,
      );
    }
  });

  it("passes the feed's own refusal on (an unknown replica)", async () => {
    const url = await serve(new FakeFeed());
    const reply = await post(`${url}/api/replicas/unknown/3/stop`, '{}');
    expect(reply.status).toBe(404);
    expect(problem(reply)).toMatchObject({ title: 'Not Found', detail: 'no replica unknown/3' });
  });
});

describe('the Host tester', () => {
  it('takes the host and path it is given, and strings only', async () => {
    const feed = new FakeFeed();
    const url = await serve(feed);
    const reply = await post(`${url}/api/probe`, '{"host":"a.example","path":"/api/books"}');
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ host: 'a.example', path: '/api/books' });
    await post(`${url}/api/probe`, '{"host":1,"path":["/x"]}');
    expect(feed.probed).toEqual([
      { host: 'a.example', path: '/api/books' },
      { host: '', path: '' },
    ]);
  });

  it(`reads a body of ${MAX_BODY_BYTES} bytes, and refuses one byte more with 413`, async () => {
    const feed = new FakeFeed();
    const url = await serve(feed);
    const sized = (size: number) => {
      const base = '{"host":"h","path":""}';
      return base.replace('""', `"${'p'.repeat(size - base.length)}"`);
    };
    expect(sized(MAX_BODY_BYTES)).toHaveLength(MAX_BODY_BYTES);
    expect((await post(`${url}/api/probe`, sized(MAX_BODY_BYTES))).status).toBe(200);
    const over = await post(`${url}/api/probe`, sized(MAX_BODY_BYTES + 1));
    expect(over.status).toBe(413);
    expect(problem(over).detail).toBe(`over ${MAX_BODY_BYTES} bytes`);
    expect(feed.probes).toBe(1);
  });

  it('refuses a body that is not a JSON object with 400', async () => {
    const url = await serve(new FakeFeed());
    for (const [body, detail] of [
      ['{', 'the body is not JSON'],
      ['', 'the body is not JSON'],
      ['null', 'the body must be a JSON object'],
      ['"host"', 'the body must be a JSON object'],
      ['42', 'the body must be a JSON object'],
    ]) {
      const reply = await post(`${url}/api/probe`, body as string);
      expect({ body, status: reply.status }).toEqual({ body, status: 400 });
      expect(problem(reply)).toMatchObject({ title: 'Bad Request', detail });
    }
  });
});

describe('what the console serves', () => {
  it('serves the page and its files with their types, never cached', async () => {
    const url = await serve(new FakeFeed());
    for (const [path, type] of [
      ['/', 'text/html; charset=utf-8'],
      ['/app.js', 'text/javascript; charset=utf-8'],
      ['/charts.js', 'text/javascript; charset=utf-8'],
      ['/style.css', 'text/css; charset=utf-8'],
    ]) {
      const reply = await request(`${url}${path}`);
      expect({ path, status: reply.status, type: reply.headers['content-type'] }).toEqual({
        path,
        status: 200,
        type,
      });
      expect(reply.headers['cache-control']).toBe('no-store');
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
      expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.body));
    }
    const head = await request(`${url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('serves the JSON views of the feed', async () => {
    const url = await serve(new FakeFeed());
    for (const path of ['/api/topology', '/api/requests', '/api/stats']) {
      const reply = await request(`${url}${path}`);
      expect({ path, status: reply.status }).toEqual({ path, status: 200 });
      expect(reply.headers['content-type']).toBe('application/json');
    }
    expect((await request(`${url}/api/requests`)).body).toBe('[]');
  });

  it('answers another path with 404 and another method with 405, naming what is served', async () => {
    const url = await serve(new FakeFeed());
    const missing = await request(`${url}/index.html`);
    expect(missing.status).toBe(404);
    expect(problem(missing).detail).toBe('nothing at /index.html; the console is at /');
    const put = await request(`${url}/`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, HEAD, POST');
    expect(problem(put).detail).toBe('PUT is not served here');
  });
});
