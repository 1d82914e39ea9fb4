import createClient from 'openapi-fetch';
import { describe, expect, it } from 'vitest';
import type { paths } from '../../../.cache/openapi/book-service.d.ts';
import { catalogContract, quietDeps } from '../../common/test/catalog-contract.ts';
import { BASE_PATH, createApp } from '../src/app.ts';
import { books } from '../src/data.ts';

describe('book-service', () => {
  catalogContract({ createApp, basePath: BASE_PATH, items: books });

  it('serves the seed data byte for byte: isbn a 13-digit number, date MM/DD/YYYY', async () => {
    const response = await createApp(quietDeps()).request('/api/books/1');
    expect(await response.text()).toBe(
      '{"id":1,"isbn":9781119490708,"title":"AWS Certified Cloud Practitioner Study","publisher":"Wiley","date":"07/02/2019"}',
    );
    expect(books).toHaveLength(6);
    for (const book of books) {
      expect(String(book.isbn)).toMatch(/^97[89]\d{10}$/);
      expect(book.date).toMatch(/^(0[1-9]|1[0-2])\/(0[1-9]|[12]\d|3[01])\/\d{4}$/);
    }
    expect(books.map((b) => b.title)).toEqual([
      'AWS Certified Cloud Practitioner Study',
      'Mastering AWS Security',
      'Machine Learning with AWS',
      'Learning Aws Opsworks',
      'AWS Lambda Quick Start Guide',
      'AWS Basics',
    ]);
  });

  it('is read by the client generated from its document (types checked by npm run typecheck)', async () => {
    const app = createApp(quietDeps());
    const client = createClient<paths>({
      baseUrl: 'http://book-service',
      fetch: (request) => Promise.resolve(app.request(request)),
    });
    const book = await client.GET('/api/books/{id}', { params: { path: { id: '2' } } });
    expect(book.data?.isbn).toBe(9781788293723);
    const page = await client.GET('/api/books', { params: { query: { limit: '2', offset: '4' } } });
    expect(page.data?.map((b) => b.date)).toEqual(['06/29/2018', '02/09/2017']);
    const missing = await client.GET('/api/books/{id}', { params: { path: { id: '999' } } });
    expect(missing.error?.status).toBe(404);
    const health = await client.GET('/api/books/health');
    expect(health.data?.status).toBe('ok');
  });
});
