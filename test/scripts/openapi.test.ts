// scripts/openapi.ts (each service's served document and its generated client types) and the
// conformance check the smoke test and the services' tests judge answers by.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Conformance } from '../../scripts/checks/openapi-conformance.ts';
import { documentFile, generate, servedDocument } from '../../scripts/checks/openapi-documents.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';

const ws = loadWorkspace();

/** A small document in the shape the services serve. */
const document = {
  openapi: '3.1.0',
  info: { title: 't', version: '1' },
  paths: {
    '/api/things': {
      get: {
        parameters: [{ name: 'limit', in: 'query', schema: { type: 'string', example: '10' } }],
        responses: {
          200: {
            description: 'ok',
            content: {
              'application/json': {
                schema: { type: 'array', items: { $ref: '#/components/schemas/Thing' } },
                example: [{ id: 1, name: 'one' }],
              },
            },
          },
        },
      },
    },
    '/api/things/special': { get: { responses: { 204: { description: 'none' } } } },
    '/api/things/{id}': {
      get: {
        responses: {
          200: {
            description: 'ok',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
          },
          '4XX': {
            description: 'bad',
            content: { 'application/problem+json': { schema: { type: 'object' } } },
          },
        },
      },
    },
  },
  components: {
    schemas: {
      Thing: {
        type: 'object',
        properties: { id: { type: 'integer', example: 1 }, name: { type: 'string' } },
        required: ['id', 'name'],
      },
    },
  },
};

const json = (status: number, body: unknown, contentType = 'application/json') => ({
  status,
  contentType,
  body: JSON.stringify(body),
});

describe('Conformance', () => {
  const c = new Conformance(document);

  it('matches a concrete path to its template, an exact path first, parameters decoded', () => {
    expect(c.match('GET', '/api/things')).toEqual({ template: '/api/things', params: {} });
    expect(c.match('get', '/api/things/special')).toEqual({
      template: '/api/things/special',
      params: {},
    });
    expect(c.match('get', '/api/things/a%20b')).toEqual({
      template: '/api/things/{id}',
      params: { id: 'a b' },
    });
    expect(c.match('get', '/api/things/1/more')).toBeUndefined();
    expect(c.match('post', '/api/things')).toBeUndefined();
  });

  it('accepts an answer the document promises, with media-type parameters and status ranges', () => {
    const thing = { id: 1, name: 'one' };
    expect(
      c.check('get', '/api/things', json(200, [thing], 'application/json; charset=utf-8')),
    ).toEqual([]);
    expect(c.check('get', '/api/things/{id}', json(404, {}, 'application/problem+json'))).toEqual(
      [],
    );
    expect(
      c.check('get', '/api/things/special', { status: 204, contentType: '', body: '' }),
    ).toEqual([]);
  });

  it('says what breaks the promise: status, content type, JSON, schema, extra fields', () => {
    const at = '/api/things/{id}';
    expect(c.check('get', at, json(500, {}))).toEqual([
      'GET /api/things/{id} answered 500, which the document does not list (200, 4XX)',
    ]);
    expect(c.check('get', at, json(200, {}, 'text/html'))).toEqual([
      'GET /api/things/{id} 200 answered content-type "text/html", documented: application/json',
    ]);
    expect(
      c.check('get', at, { status: 200, contentType: 'application/json', body: '<h1>' }),
    ).toEqual(['GET /api/things/{id} 200: the body is not JSON']);
    expect(c.check('get', at, json(200, { id: '1', name: 'one' }))).toEqual([
      'GET /api/things/{id} 200 body: /id must be integer',
    ]);
    expect(c.check('get', at, json(200, { id: 1, name: 'one', size: 2 }))).toEqual([
      'GET /api/things/{id} 200 body: (body) must NOT have unevaluated properties',
    ]);
    expect(c.check('get', '/nowhere', json(200, {}))).toEqual([
      'GET /nowhere is not in the document',
    ]);
    const many = c.check('get', '/api/things', json(200, [{}, {}, {}]));
    expect(many).toHaveLength(4);
    expect(many.at(-1)).toBe('and 3 more');
  });

  it('checks every example against its schema, wherever it is given', () => {
    expect(c.examples().map((e) => e.at)).toEqual([
      '#/paths/~1api~1things/get/parameters/0/schema/example',
      '#/paths/~1api~1things/get/responses/200/content/application~1json/example',
      '#/components/schemas/Thing/properties/id/example',
    ]);
    expect(c.examples().every((e) => e.problems.length === 0)).toBe(true);
    // A property may be named like the keyword: its schema is no example.
    const named = { type: 'object', properties: { example: { type: 'string' } } };
    expect(new Conformance({ components: { schemas: { Named: named } } }).examples()).toEqual([]);
    const broken = structuredClone(document);
    broken.components.schemas.Thing.properties.id.example = 'one' as never;
    broken.paths['/api/things'].get.responses[200].content['application/json'].example = [
      { id: 1 } as never,
    ];
    expect(new Conformance(broken).examples().filter((e) => e.problems.length > 0)).toEqual([
      {
        at: '#/paths/~1api~1things/get/responses/200/content/application~1json/example',
        problems: ["/0 must have required property 'name'"],
      },
      {
        at: '#/components/schemas/Thing/properties/id/example',
        problems: ['(body) must be integer'],
      },
    ]);
  });
});

describe('scripts/openapi.ts', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'openapi-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes each service's served document, its client types and an index naming them", async () => {
    writeFileSync(path.join(dir, 'gone-service.json'), '{}');
    await generate(ws.services, dir);
    expect(existsSync(path.join(dir, 'gone-service.json'))).toBe(false);
    const index = readFileSync(path.join(dir, 'index.d.ts'), 'utf8');
    for (const service of ws.services) {
      const written = JSON.parse(readFileSync(documentFile(service.name, dir), 'utf8'));
      expect(written).toEqual(await servedDocument(service));
      const types = readFileSync(path.join(dir, `${service.name}.d.ts`), 'utf8');
      expect(types).toContain(`"${service.pathPrefix}/{id}": {`);
      expect(index).toContain(`from './${service.name}.d.ts';`);
    }
    expect(index).toMatch(/^export type ApiPaths = \w+ & \w+;$/m);
  });
});
