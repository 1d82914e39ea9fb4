import createClient from 'openapi-fetch';
import { describe, expect, it } from 'vitest';
import type { paths } from '../../../.cache/openapi/author-service.d.ts';
import { catalogContract, quietDeps } from '../../common/test/catalog-contract.ts';
import { BASE_PATH, createApp } from '../src/app.ts';
import { authors } from '../src/data.ts';

describe('author-service', () => {
  catalogContract({ createApp, basePath: BASE_PATH, items: authors });

  it('serves the seed data field for field', async () => {
    const response = await createApp(quietDeps()).request('/api/authors/6');
    expect(await response.text()).toBe(
      '{"id":6,"name":"Ajit Pratap Kundan","book":"VMware Cross-Cloud Architecture"}',
    );
    expect(authors.map((a) => [a.id, a.name])).toEqual([
      [1, 'Mark Wilkins'],
      [2, 'Steve Morad'],
      [3, 'Gojko Adzic'],
      [4, 'Giuseppe Borgese'],
      [5, 'Vikas Aggarwal'],
      [6, 'Ajit Pratap Kundan'],
    ]);
  });

  it('is read by the client generated from its document (types checked by npm run typecheck)', async () => {
    const app = createApp(quietDeps());
    const client = createClient<paths>({
      baseUrl: 'http://author-service',
      fetch: (request) => Promise.resolve(app.request(request)),
    });
    const author = await client.GET('/api/authors/{id}', { params: { path: { id: '3' } } });
    expect(author.data?.name).toBe('Gojko Adzic');
    const page = await client.GET('/api/authors', { params: { query: { limit: '1' } } });
    expect(page.data?.map((a) => a.book)).toEqual(['Learning Amazon Web Services (AWS)']);
    const bad = await client.GET('/api/authors/{id}', { params: { path: { id: 'x' } } });
    expect(bad.error?.status).toBe(400);
  });
});
