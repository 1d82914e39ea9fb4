import { describe, expect, it } from 'vitest';
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
});
