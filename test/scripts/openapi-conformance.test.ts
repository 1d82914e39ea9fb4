// The conformance check (scripts/checks/openapi-conformance.ts) on small documents, each rule of
// OpenAPI 3.1 and JSON Schema 2020-12 it applies tried on both sides: which operation a path
// names, which response a status takes (explicit, range, default), which media type an answer's
// content type takes (exact, range), what a body must be (closed objects, nullable, allOf,
// formats), references, and which examples it judges. Then the documents scripts/openapi.ts
// writes, from stand-in services, so every file's text is seen. Specification:
// https://spec.openapis.org/oas/v3.1.0 (OAI/OpenAPI-Specification, versions/3.1.0.md).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { Conformance } from '../../scripts/checks/openapi-conformance.ts';
import {
  documentFile,
  generate,
  OPENAPI_DIR,
  servedDocument,
} from '../../scripts/checks/openapi-documents.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { scratchFolders } from '../helpers/scratch.ts';
import { manifestService } from '../helpers/workspace.ts';

type Json = Record<string, unknown>;

/** A document with one operation, GET /x, answering `responses`. */
const oneOperation = (responses: Json, components: Json = {}) => ({
  openapi: '3.1.0',
  info: { title: 't', version: '1' },
  paths: { '/x': { get: { responses } } },
  components,
});

/** A response documented with one media type and its schema. */
const media = (schema: unknown, type = 'application/json') => ({
  description: 'd',
  content: { [type]: { schema } },
});

const answer = (status: number, body: unknown, contentType = 'application/json') => ({
  status,
  contentType,
  body: JSON.stringify(body),
});

/** An answer whose body is `text` as sent. */
const raw = (status: number, text: string, contentType: string) => ({
  status,
  contentType,
  body: text,
});

/** The verdict on GET /x answering `body` with 200, when 200 is documented with `schema`. */
const judge = (schema: unknown, body: unknown, components: Json = {}) =>
  new Conformance(oneOperation({ 200: media(schema) }, components)).check(
    'get',
    '/x',
    answer(200, body),
  );

describe('match: the operation a concrete path names', () => {
  it('prefers a concrete path to a template listed before it, and reads parameters in order', () => {
    const c = new Conformance({
      paths: {
        '/books/{id}': { get: {} },
        '/books/mine': { get: {} },
        '/shelves/{shelf}/books/{book}': { get: {}, head: {} },
      },
    });
    expect(c.match('GET', '/books/mine')).toEqual({ template: '/books/mine', params: {} });
    expect(c.match('GET', '/books/7')).toEqual({ template: '/books/{id}', params: { id: '7' } });
    expect(c.match('head', '/shelves/a/books/b')).toEqual({
      template: '/shelves/{shelf}/books/{book}',
      params: { shelf: 'a', book: 'b' },
    });
    // A parameter is one whole segment: never empty, never two.
    expect(c.match('get', '/books/')).toBeUndefined();
    expect(c.match('get', '/books/7/x')).toBeUndefined();
    expect(c.match('get', 'x/books/7')).toBeUndefined();
    expect(c.match('head', '/books/7')).toBeUndefined();
  });

  it('decodes each parameter, an escaped slash included (Path Templating: no unescaped `/`)', () => {
    const c = new Conformance({ paths: { '/files/{name}': { get: {} } } });
    expect(c.match('get', '/files/a%2Fb%20c')).toEqual({
      template: '/files/{name}',
      params: { name: 'a/b c' },
    });
  });

  it('reads the rest of a template literally, regular expression characters included', () => {
    const c = new Conformance({ paths: { '/v1.0/{id}': { get: {} }, '/a+/{id}': { get: {} } } });
    expect(c.match('get', '/v1.0/3')).toEqual({ template: '/v1.0/{id}', params: { id: '3' } });
    expect(c.match('get', '/v1x0/3')).toBeUndefined();
    expect(c.match('get', '/a+/3')).toEqual({ template: '/a+/{id}', params: { id: '3' } });
    expect(c.match('get', '/aa/3')).toBeUndefined();
  });

  it('takes any parameter name the document gives, not only an identifier', () => {
    const c = new Conformance({
      paths: { '/n/{0}': { get: {} }, '/m/{item-id}/{item_id}': { get: {} } },
    });
    expect(c.match('get', '/n/5')).toEqual({ template: '/n/{0}', params: { '0': '5' } });
    expect(c.match('get', '/m/a/b')).toEqual({
      template: '/m/{item-id}/{item_id}',
      params: { 'item-id': 'a', item_id: 'b' },
    });
  });

  it('finds nothing in a document without paths', () => {
    expect(new Conformance({ components: {} }).match('get', '/x')).toBeUndefined();
  });
});

describe('check: the response a status takes', () => {
  // Responses Object: an explicit code takes precedence over its range, and `default` covers
  // every code neither names. Each is told apart by the schema it carries.
  const responses = {
    200: media({ const: 'explicit' }),
    '2XX': media({ const: 'range' }),
    default: media({ const: 'default' }),
  };
  const c = new Conformance(oneOperation(responses));

  it('takes the explicit code first, then its range, then default', () => {
    expect(c.check('get', '/x', answer(200, 'explicit'))).toEqual([]);
    expect(c.check('get', '/x', answer(200, 'range'))).toEqual([
      'GET /x 200 body: (body) must be equal to constant',
    ]);
    expect(c.check('get', '/x', answer(201, 'range'))).toEqual([]);
    expect(c.check('get', '/x', answer(201, 'default'))).toEqual([
      'GET /x 201 body: (body) must be equal to constant',
    ]);
    expect(c.check('get', '/x', answer(503, 'default'))).toEqual([]);
    expect(c.check('get', '/x', answer(503, 'range'))).toEqual([
      'GET /x 503 body: (body) must be equal to constant',
    ]);
  });

  it('refuses a status nothing covers, naming what is documented', () => {
    const only = new Conformance(oneOperation({ 200: { description: 'd' }, '4XX': media({}) }));
    expect(only.check('GET', '/x', answer(500, {}))).toEqual([
      'GET /x answered 500, which the document does not list (200, 4XX)',
    ]);
    expect(only.check('get', '/x', answer(201, {}))).toEqual([
      'GET /x answered 201, which the document does not list (200, 4XX)',
    ]);
    expect(only.check('get', '/x', answer(404, {}))).toEqual([]);
  });

  it('reads a range only with the uppercase X the specification allows', () => {
    const lower = new Conformance(oneOperation({ '4xx': media({}) }));
    expect(lower.check('get', '/x', answer(404, {}))).toEqual([
      'GET /x answered 404, which the document does not list (4xx)',
    ]);
  });

  it('refuses any answer to an operation without responses, or not in the document', () => {
    const bare = new Conformance({ paths: { '/x': { get: {} } } });
    expect(bare.check('get', '/x', answer(200, {}))).toEqual([
      'GET /x answered 200, which the document does not list ()',
    ]);
    expect(bare.check('post', '/x', answer(200, {}))).toEqual(['POST /x is not in the document']);
    expect(new Conformance({}).check('get', '/x', answer(200, {}))).toEqual([
      'GET /x is not in the document',
    ]);
  });

  it('follows a response given as a reference to components/responses', () => {
    const problem = { type: 'object', properties: { title: { type: 'string' } } };
    const c2 = new Conformance(
      oneOperation(
        {
          200: { $ref: '#/components/responses/Ok' },
          default: { $ref: '#/components/responses/Oops' },
        },
        {
          responses: {
            Ok: { $ref: '#/components/responses/Plain' },
            Plain: media({ type: 'integer' }),
            Oops: media(problem, 'application/problem+json'),
          },
        },
      ),
    );
    expect(c2.check('get', '/x', answer(200, 1))).toEqual([]);
    expect(c2.check('get', '/x', answer(200, 'one'))).toEqual([
      'GET /x 200 body: (body) must be integer',
    ]);
    expect(c2.check('get', '/x', answer(500, { title: 't' }, 'application/problem+json'))).toEqual(
      [],
    );
    expect(c2.check('get', '/x', answer(500, { title: 1 }, 'application/problem+json'))).toEqual([
      'GET /x 500 body: /title must be string',
    ]);
    expect(c2.check('get', '/x', answer(500, {}, 'text/html'))).toEqual([
      'GET /x 500 answered content-type "text/html", documented: application/problem+json',
    ]);
  });
  it('follows a reference through names that need escaping in a JSON pointer (~0, ~1)', () => {
    const c2 = new Conformance(
      oneOperation(
        {
          200: media({ type: 'integer' }),
          201: { $ref: '#/paths/~1x/get/responses/200' },
          default: { $ref: '#/components/responses/a~0b' },
        },
        { responses: { 'a~b': media({ type: 'string' }) } },
      ),
    );
    expect(c2.check('get', '/x', answer(201, 1))).toEqual([]);
    expect(c2.check('get', '/x', answer(201, 'a'))).toEqual([
      'GET /x 201 body: (body) must be integer',
    ]);
    expect(c2.check('get', '/x', answer(500, 'a'))).toEqual([]);
    expect(c2.check('get', '/x', answer(500, 1))).toEqual([
      'GET /x 500 body: (body) must be string',
    ]);
  });

  it('judges no body by a response whose reference names nothing or goes round in a circle', () => {
    const circle = new Conformance(
      oneOperation(
        { 200: { $ref: '#/components/responses/A' }, 404: { $ref: '#/components/nothing/here' } },
        {
          responses: {
            A: { $ref: '#/components/responses/B' },
            B: { $ref: '#/components/responses/A' },
          },
        },
      ),
    );
    expect(circle.check('get', '/x', answer(200, 'anything'))).toEqual([]);
    expect(circle.check('get', '/x', answer(404, 'anything'))).toEqual([]);
  });
});

describe('check: the media type an answer takes', () => {
  it('reads the content type without its parameters, in any case', () => {
    const c = new Conformance(oneOperation({ 200: media({ type: 'object' }) }));
    expect(c.check('get', '/x', answer(200, {}, 'Application/JSON ; charset=UTF-8'))).toEqual([]);
    expect(c.check('get', '/x', answer(200, {}, ''))).toEqual([
      'GET /x 200 answered content-type "", documented: application/json',
    ]);
  });

  it('takes the most specific documented type or range: text/plain before text/*, before */*', () => {
    const c = new Conformance(
      oneOperation({
        200: {
          description: 'd',
          content: {
            '*/*': { schema: { const: 'any' } },
            'text/*': { schema: { const: 'text' } },
            'text/plain': { schema: { const: 'plain' } },
          },
        },
      }),
    );
    expect(c.check('get', '/x', raw(200, 'plain', 'text/plain'))).toEqual([]);
    expect(c.check('get', '/x', raw(200, 'text', 'text/csv'))).toEqual([]);
    expect(c.check('get', '/x', raw(200, 'plain', 'text/csv'))).toEqual([
      'GET /x 200 body: (body) must be equal to constant',
    ]);
    expect(c.check('get', '/x', raw(200, 'any', 'image/png'))).toEqual([]);
    const ranged = new Conformance(
      oneOperation({ 200: media({ type: 'object' }, 'application/*') }),
    );
    expect(ranged.check('get', '/x', answer(200, {}, 'application/problem+json'))).toEqual([]);
    expect(ranged.check('get', '/x', answer(200, {}, 'text/json'))).toEqual([
      'GET /x 200 answered content-type "text/json", documented: application/*',
    ]);
  });

  it('matches a documented type that carries parameters or capitals', () => {
    const c = new Conformance(
      oneOperation({
        200: {
          description: 'd',
          content: {
            'text/plain; charset=utf-8': { schema: { type: 'string' } },
            'Application/JSON': { schema: { type: 'object' } },
          },
        },
      }),
    );
    expect(c.check('get', '/x', raw(200, 'hi', 'text/plain;charset=utf-8'))).toEqual([]);
    expect(c.check('get', '/x', answer(200, {}, 'application/json'))).toEqual([]);
    expect(c.check('get', '/x', answer(200, [], 'application/json'))).toEqual([
      'GET /x 200 body: (body) must be object',
    ]);
    expect(c.check('get', '/x', raw(200, '', 'text/html'))).toEqual([
      'GET /x 200 answered content-type "text/html", documented: text/plain; charset=utf-8, Application/JSON',
    ]);
  });

  it('judges no body where the response documents no content, or its media type no schema', () => {
    const c = new Conformance(
      oneOperation({
        204: { description: 'none' },
        200: { description: 'd', content: { 'application/json': {} } },
        // YAML's `application/json:` with nothing after it.
        201: { description: 'd', content: { 'application/json': null } },
      }),
    );
    expect(c.check('get', '/x', { status: 204, contentType: '', body: '' })).toEqual([]);
    expect(c.check('get', '/x', raw(200, '<html>', 'application/json'))).toEqual([]);
    expect(c.check('get', '/x', raw(201, '<html>', 'application/json'))).toEqual([]);
  });
});

describe('check: the body', () => {
  it('parses JSON media types, a +json suffix included, and says when the body is not JSON', () => {
    const c = new Conformance(
      oneOperation({
        200: media({ type: 'object' }),
        400: media({ type: 'object' }, 'application/problem+json'),
      }),
    );
    expect(c.check('get', '/x', raw(200, '<h1>', 'application/json'))).toEqual([
      'GET /x 200: the body is not JSON',
    ]);
    expect(c.check('get', '/x', raw(200, '', 'application/json'))).toEqual([
      'GET /x 200: the body is not JSON',
    ]);
    expect(c.check('get', '/x', raw(400, '"x"', 'application/problem+json'))).toEqual([
      'GET /x 400 body: (body) must be object',
    ]);
  });

  it('judges a text body as the string it is (the specification: text/plain, type string)', () => {
    const c = new Conformance(
      oneOperation({ 200: media({ type: 'string', maxLength: 5 }, 'text/plain') }),
    );
    expect(c.check('get', '/x', raw(200, 'whoa!', 'text/plain'))).toEqual([]);
    expect(c.check('get', '/x', raw(200, 'whoa there', 'text/plain'))).toEqual([
      'GET /x 200 body: (body) must NOT have more than 5 characters',
    ]);
  });

  it('refuses a missing required property and a wrong type, naming where', () => {
    const item = {
      type: 'object',
      properties: { id: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
      required: ['id'],
    };
    expect(judge(item, { id: 1, tags: ['a'] })).toEqual([]);
    expect(judge(item, { tags: ['a', 2] })).toEqual([
      "GET /x 200 body: (body) must have required property 'id'",
      'GET /x 200 body: /tags/1 must be string',
    ]);
  });

  it('refuses a property an object schema does not declare, unless the schema says otherwise', () => {
    const declared = { type: 'object', properties: { id: { type: 'integer' } } };
    expect(judge(declared, { id: 1 })).toEqual([]);
    expect(judge(declared, { id: 1, extra: true })).toEqual([
      'GET /x 200 body: (body) must NOT have unevaluated properties',
    ]);
    expect(judge({ type: 'array', items: declared }, [{ id: 1, extra: true }])).toEqual([
      'GET /x 200 body: /0 must NOT have unevaluated properties',
    ]);
    expect(judge({ ...declared, additionalProperties: true }, { id: 1, extra: true })).toEqual([]);
    expect(judge({ ...declared, additionalProperties: false }, { id: 1, extra: true })).toEqual([
      'GET /x 200 body: (body) must NOT have additional properties',
    ]);
    const counted = { ...declared, unevaluatedProperties: { type: 'integer' } };
    expect(judge(counted, { id: 1, extra: 2 })).toEqual([]);
    expect(judge(counted, { id: 1, extra: 'two' })).toEqual([
      'GET /x 200 body: /extra must be integer',
    ]);
    // An object schema that declares no properties says nothing of them: any are allowed.
    expect(judge({ type: 'object' }, { anything: 1 })).toEqual([]);
    // A schema without type `object` describes no object, even with properties: a constraint
    // an anyOf adds to its object, or a type that refuses objects anyway.
    const tagged = {
      ...declared,
      properties: { id: {}, kind: {} },
      anyOf: [{ properties: { kind: { const: 'a' } } }, { properties: { kind: { const: 'b' } } }],
    };
    expect(judge(tagged, { id: 1, kind: 'a' })).toEqual([]);
    expect(judge({ type: ['array', 'null'], properties: { a: {} } }, { a: 1, b: 2 })).toEqual([
      'GET /x 200 body: (body) must be array,null',
    ]);
  });

  it('closes each alternative of anyOf and oneOf: a body must be one of them whole', () => {
    const a = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] };
    const b = { type: 'object', properties: { b: { type: 'integer' } }, required: ['b'] };
    expect(judge({ anyOf: [a, b] }, { b: 1 })).toEqual([]);
    expect(judge({ anyOf: [a, b] }, { a: 1, b: 1 })).toEqual([
      'GET /x 200 body: (body) must NOT have unevaluated properties',
      'GET /x 200 body: (body) must NOT have unevaluated properties',
      'GET /x 200 body: (body) must match a schema in anyOf',
    ]);
    expect(judge({ oneOf: [a, b] }, { a: 1 })).toEqual([]);
    expect(judge({ oneOf: [a, b] }, { a: 1, c: 1 })).toEqual([
      'GET /x 200 body: (body) must NOT have unevaluated properties',
      "GET /x 200 body: (body) must have required property 'b'",
      'GET /x 200 body: (body) must NOT have unevaluated properties',
      'and 2 more',
    ]);
  });

  it("accepts null only where the type says so (3.1's type arrays), and closes a nullable object", () => {
    const nullable = {
      type: ['object', 'null'],
      properties: { a: { type: ['string', 'null'] } },
    };
    expect(judge(nullable, null)).toEqual([]);
    expect(judge(nullable, { a: null })).toEqual([]);
    expect(judge(nullable, { a: 1 })).toEqual(['GET /x 200 body: /a must be string,null']);
    expect(judge(nullable, { a: 'x', b: 1 })).toEqual([
      'GET /x 200 body: (body) must NOT have unevaluated properties',
    ]);
    expect(judge({ type: 'string' }, null)).toEqual(['GET /x 200 body: (body) must be string']);
  });

  it("reads OpenAPI 3.0's `nullable` as 3.1 does: no keyword, so it neither allows null nor fails", () => {
    // https://learn.openapis.org/upgrading/v3.0-to-v3.1: "Replace nullable with type arrays".
    expect(judge({ type: 'string', nullable: true }, null)).toEqual([
      'GET /x 200 body: (body) must be string',
    ]);
    expect(judge({ type: 'string', nullable: true }, 'x')).toEqual([]);
    const referenced = { nullable: true, allOf: [{ $ref: '#/components/schemas/Name' }] };
    const components = { schemas: { Name: { type: 'string' } } };
    expect(judge(referenced, 'x', components)).toEqual([]);
    expect(judge(referenced, 1, components)).toEqual(['GET /x 200 body: (body) must be string']);
    // A property or a schema may be called nullable: it stays declared.
    const named = { type: 'object', properties: { nullable: { type: 'boolean' }, any: {} } };
    expect(judge(named, { nullable: true })).toEqual([]);
    expect(judge(named, { nullable: 'yes' })).toEqual([
      'GET /x 200 body: /nullable must be boolean',
    ]);
    const anything = { type: 'object', properties: { nullable: true } };
    expect(judge(anything, { nullable: 'yes' })).toEqual([]);
    const schemas = { schemas: { nullable: { type: 'integer' } } };
    expect(judge({ $ref: '#/components/schemas/nullable' }, 1, schemas)).toEqual([]);
    expect(judge({ $ref: '#/components/schemas/nullable' }, 'a', schemas)).toEqual([
      'GET /x 200 body: (body) must be integer',
    ]);
  });

  it('checks formats: the JSON Schema ones and the OpenAPI int32/int64', () => {
    const dated = {
      type: 'object',
      properties: {
        at: { type: 'string', format: 'date-time' },
        id: { type: 'string', format: 'uuid' },
        n: { type: 'integer', format: 'int32' },
      },
    };
    const good = { at: '2024-02-29T12:00:00Z', id: '0b6f8c8e-3f0e-4c8e-9b1a-2d3e4f5a6b7c', n: 7 };
    expect(judge(dated, good)).toEqual([]);
    expect(judge(dated, { at: 'yesterday', id: 'x', n: 2 ** 31 })).toEqual([
      'GET /x 200 body: /at must match format "date-time"',
      'GET /x 200 body: /id must match format "uuid"',
      'GET /x 200 body: /n must match format "int32"',
    ]);
  });

  it('shows the first three problems and counts the rest', () => {
    const four = { type: 'array', items: { type: 'integer' } };
    expect(judge(four, ['a', 'b', 'c'])).toEqual([
      'GET /x 200 body: /0 must be integer',
      'GET /x 200 body: /1 must be integer',
      'GET /x 200 body: /2 must be integer',
    ]);
    expect(judge(four, ['a', 'b', 'c', 'd', 'e'])).toEqual([
      'GET /x 200 body: /0 must be integer',
      'GET /x 200 body: /1 must be integer',
      'GET /x 200 body: /2 must be integer',
      'and 2 more',
    ]);
  });

  it('gives the same verdicts when asked again (each schema compiled once)', () => {
    const c = new Conformance(oneOperation({ 200: media({ type: 'integer' }) }));
    for (let i = 0; i < 2; i++) {
      expect(c.check('get', '/x', answer(200, 1))).toEqual([]);
      expect(c.check('get', '/x', answer(200, 'a'))).toEqual([
        'GET /x 200 body: (body) must be integer',
      ]);
    }
  });

  it('finds the schema of a path whose name needs escaping in a JSON pointer', () => {
    const c = new Conformance({
      paths: {
        '/~user/{id}': { get: { responses: { 200: media({ type: 'integer' }) } } },
        '/a b/%7E': { get: { responses: { 200: media({ type: 'integer' }) } } },
      },
    });
    expect(c.check('get', '/~user/{id}', answer(200, 1))).toEqual([]);
    expect(c.check('get', '/~user/{id}', answer(200, 'a'))).toEqual([
      'GET /~user/{id} 200 body: (body) must be integer',
    ]);
    expect(c.check('get', '/a b/%7E', answer(200, 'a'))).toEqual([
      'GET /a b/%7E 200 body: (body) must be integer',
    ]);
  });
});

describe('check: schemas extended with allOf, as @hono/zod-openapi writes them', () => {
  /** The document of one route answering `schema`, generated as the services generate theirs. */
  function generated(schema: z.ZodType) {
    const app = new OpenAPIHono();
    const route = createRoute({
      method: 'get',
      path: '/x',
      responses: { 200: { description: 'd', content: { 'application/json': { schema } } } },
    });
    app.openapi(route, (c) => c.json({}, 200) as never);
    return app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
  }
  const Thing = z.object({ id: z.number().int(), name: z.string() }).openapi('Thing');

  it('accepts every property the members declare, and refuses one none of them does', () => {
    const document = generated(Thing.extend({ size: z.number() }).openapi('Big'));
    // `.extend()` of a registered schema is an allOf of a $ref to it and the new properties.
    expect(document.components?.schemas?.Big).toEqual({
      allOf: [{ $ref: '#/components/schemas/Thing' }, expect.objectContaining({ type: 'object' })],
    });
    const c = new Conformance(document);
    const check = (body: unknown) => c.check('get', '/x', answer(200, body));
    expect(check({ id: 1, name: 'n', size: 2 })).toEqual([]);
    expect(check({ id: 1, name: 'n', size: 2, colour: 'red' })).toEqual([
      'GET /x 200 body: (body) must NOT have unevaluated properties',
    ]);
    expect(check({ id: 1, name: 'n' })).toEqual([
      "GET /x 200 body: (body) must have required property 'size'",
    ]);
    expect(check({ id: 'one', name: 'n', size: 2 })).toEqual([
      'GET /x 200 body: /id must be integer',
    ]);
  });

  it('keeps the extended schema closed where it is used on its own', () => {
    const document = generated(
      z.object({ thing: Thing, big: Thing.extend({ size: z.number() }).openapi('Big') }),
    );
    const c = new Conformance(document);
    const check = (body: unknown) => c.check('get', '/x', answer(200, body));
    const thing = { id: 1, name: 'n' };
    expect(check({ thing, big: { ...thing, size: 1 } })).toEqual([]);
    expect(check({ thing: { ...thing, size: 1 }, big: { ...thing, size: 1 } })).toEqual([
      'GET /x 200 body: /thing must NOT have unevaluated properties',
    ]);
  });

  it('follows an extension of an extension, and keeps the members of an inline allOf open', () => {
    const A = { type: 'object', properties: { a: { type: 'integer' } } };
    const components = {
      schemas: {
        A,
        B: {
          allOf: [{ $ref: '#/components/schemas/A' }, { type: 'object', properties: { b: {} } }],
        },
        C: {
          allOf: [{ $ref: '#/components/schemas/B' }, { type: 'object', properties: { c: {} } }],
        },
        Alias: { $ref: '#/components/schemas/A' },
        // A list: each link is an A with a next link (an allOf that names itself again).
        List: {
          allOf: [
            { $ref: '#/components/schemas/A' },
            {
              type: 'object',
              properties: { next: { allOf: [{ $ref: '#/components/schemas/List' }] } },
            },
          ],
        },
      },
    };
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    expect(judge(ref('C'), { a: 1, b: 2, c: 3 }, components)).toEqual([]);
    expect(judge(ref('C'), { a: 1, b: 2, c: 3, d: 4 }, components)).toEqual([
      'GET /x 200 body: (body) must NOT have unevaluated properties',
    ]);
    const aliased = { allOf: [ref('Alias'), { type: 'object', properties: { z: {} } }] };
    expect(judge(aliased, { a: 1, z: 2 }, components)).toEqual([]);
    expect(judge(aliased, { a: 1, y: 2 }, components)).toEqual([
      'GET /x 200 body: (body) must NOT have unevaluated properties',
    ]);
    expect(judge(ref('List'), { a: 1, next: { a: 2, next: { a: 3 } } }, components)).toEqual([]);
    expect(judge(ref('List'), { a: 1, next: { a: 2, b: 3 } }, components)).toEqual([
      'GET /x 200 body: /next must NOT have unevaluated properties',
    ]);
    const inline = { allOf: [A, { type: 'object', properties: { b: {} } }] };
    expect(judge(inline, { a: 1, b: 2 }, components)).toEqual([]);
    expect(judge(inline, { a: 1, c: 2 }, components)).toEqual([
      'GET /x 200 body: (body) must NOT have unevaluated properties',
    ]);
    // A reference to another document is not fetched: the check names the one it cannot read.
    const remote = { allOf: [{ $ref: 'common.json#/Thing' }] };
    expect(() => judge(remote, {})).toThrow("can't resolve reference common.json#/Thing");
    // An allOf that says other properties are allowed is left so.
    expect(judge({ ...inline, additionalProperties: true }, { c: 1 }, components)).toEqual([]);
  });
});

describe('examples: every example in the document, with its verdict', () => {
  const Item = {
    type: 'object',
    properties: {
      id: { type: 'integer', example: 1 },
      example: { type: ['string', 'null'], default: null },
    },
    required: ['id'],
    // Example values are data: a field named like the keyword is no example.
    examples: [{ id: 2, example: 'e' }, { id: 'three' }],
  };

  it('finds them wherever the document gives them, and judges each against its schema', () => {
    const document = {
      paths: {
        '/x/{id}': {
          get: {
            parameters: [
              {
                name: 'id',
                in: 'path',
                schema: { type: 'string', pattern: '^\\d+$' },
                example: '7',
              },
              {
                name: 'q',
                in: 'query',
                schema: { type: 'string', maxLength: 2 },
                examples: { short: { value: 'ab' }, long: { summary: 's', value: 'abc' } },
              },
            ],
            responses: {
              200: {
                description: 'd',
                headers: { 'x-n': { schema: { type: 'integer' }, example: 'n' } },
                content: {
                  'application/json': {
                    schema: { $ref: '#/components/schemas/Item' },
                    example: { id: 1, colour: 'red', example: 'e' },
                  },
                },
              },
            },
          },
        },
      },
      components: { schemas: { Item } },
    };
    expect(new Conformance(document).examples()).toEqual([
      { at: '#/paths/~1x~1{id}/get/parameters/0/example', problems: [] },
      { at: '#/paths/~1x~1{id}/get/parameters/1/examples/short', problems: [] },
      {
        at: '#/paths/~1x~1{id}/get/parameters/1/examples/long',
        problems: ['(body) must NOT have more than 2 characters'],
      },
      {
        at: '#/paths/~1x~1{id}/get/responses/200/headers/x-n/example',
        problems: ['(body) must be integer'],
      },
      {
        at: '#/paths/~1x~1{id}/get/responses/200/content/application~1json/example',
        problems: ['(body) must NOT have unevaluated properties'],
      },
      { at: '#/components/schemas/Item/examples/0', problems: [] },
      { at: '#/components/schemas/Item/examples/1', problems: ['/id must be integer'] },
      { at: '#/components/schemas/Item/properties/id/example', problems: [] },
    ]);
  });

  it('follows an Example Object given by reference, and leaves an external one alone', () => {
    const document = {
      paths: {
        '/x': {
          get: {
            responses: {
              200: {
                description: 'd',
                content: {
                  'application/json': {
                    schema: { type: 'integer' },
                    examples: {
                      one: { $ref: '#/components/examples/One' },
                      word: { $ref: '#/components/examples/Word' },
                      far: { externalValue: 'https://example.org/x.json' },
                      none: { summary: 'null is a value', value: null },
                      odd: 'no Example Object',
                      nothing: null,
                    },
                  },
                },
              },
            },
          },
        },
      },
      components: {
        examples: {
          One: { value: 1 },
          Word: { value: 'one' },
          Unused: { value: { id: 1, example: 'e' } },
        },
      },
    };
    expect(new Conformance(document).examples()).toEqual([
      { at: '#/paths/~1x/get/responses/200/content/application~1json/examples/one', problems: [] },
      {
        at: '#/paths/~1x/get/responses/200/content/application~1json/examples/word',
        problems: ['(body) must be integer'],
      },
      {
        at: '#/paths/~1x/get/responses/200/content/application~1json/examples/none',
        problems: ['(body) must be integer'],
      },
    ]);
  });

  it('reads the names of schemas and properties as names, even "example" and "examples"', () => {
    const document = {
      components: {
        schemas: {
          example: { type: 'integer', example: 'not a number' },
          examples: {
            type: 'object',
            properties: { examples: { type: 'integer', examples: [1] } },
            $defs: { example: { type: 'string', example: 's' } },
          },
        },
      },
    };
    expect(new Conformance(document).examples()).toEqual([
      { at: '#/components/schemas/example/example', problems: ['(body) must be integer'] },
      { at: '#/components/schemas/examples/properties/examples/examples/0', problems: [] },
      { at: '#/components/schemas/examples/$defs/example/example', problems: [] },
    ]);
  });

  it('ignores an `examples` that is no map or list', () => {
    const document = {
      components: { schemas: { A: { type: 'integer', examples: 'see the guide', example: 1 } } },
    };
    expect(new Conformance(document).examples()).toEqual([
      { at: '#/components/schemas/A/example', problems: [] },
    ]);
    expect(
      new Conformance({ components: { schemas: { A: { examples: null } } } }).examples(),
    ).toEqual([]);
  });
});

describe('openapi-documents: what scripts/openapi.ts writes', () => {
  const scratch = scratchFolders('openapi-documents');

  /** A stand-in service whose app serves `document` at <prefix>/openapi.json, else 404. */
  function fakeService(name: string, prefix: string, document: object) {
    const folder = scratch();
    folder.write(
      'src/app.ts',
      `export const createApp = (deps: any) => ({
  request: async (url: string) =>
    url === ${JSON.stringify(`${prefix}/openapi.json`)}
      ? Response.json({ ...${JSON.stringify(document)}, 'x-deps': { level: deps.logger.level, service: deps.logger.bindings().service, draining: deps.lifecycle.draining } })
      : new Response('no', { status: 404 }),
});
`,
    );
    return { ...manifestService('book-service'), name, pathPrefix: prefix, sourceDir: folder.root };
  }
  const thingDocument = {
    openapi: '3.1.0',
    info: { title: 'things', version: '1' },
    paths: { '/api/things': { get: { responses: { 200: media({ type: 'integer' }) } } } },
  };

  it('asks the app itself for its document, with a fresh lifecycle and a silent logger', async () => {
    const service = fakeService('thing-service', '/api/things', thingDocument);
    expect(await servedDocument(service)).toEqual({
      ...thingDocument,
      'x-deps': { level: 'silent', service: 'thing-service', draining: false },
    });
  });

  it('says which service answered what when its document is not served', async () => {
    const service = {
      ...fakeService('thing-service', '/api/things', thingDocument),
      pathPrefix: '/api/other',
    };
    await expect(servedDocument(service)).rejects.toThrow(
      'thing-service: GET /api/other/openapi.json answered 404',
    );
  });

  it('writes each document, its types and the index, and removes what no service owns', async () => {
    const out = path.join(scratch().root, 'nested', 'openapi');
    const services = [
      fakeService('thing-service', '/api/things', thingDocument),
      fakeService('x2--y_z', '/api/xy', { ...thingDocument, paths: {} }),
    ];
    const files = await generate(services, out);
    expect(files).toEqual([
      path.join(out, 'thing-service.json'),
      path.join(out, 'thing-service.d.ts'),
      path.join(out, 'x2--y_z.json'),
      path.join(out, 'x2--y_z.d.ts'),
      path.join(out, 'index.d.ts'),
    ]);
    expect(readFileSync(documentFile('thing-service', out), 'utf8')).toBe(
      `${JSON.stringify(await servedDocument(services[0] as never), null, 2)}\n`,
    );
    expect(readFileSync(path.join(out, 'thing-service.d.ts'), 'utf8')).toContain(
      '"/api/things": {',
    );
    expect(readFileSync(path.join(out, 'index.d.ts'), 'utf8')).toBe(
      [
        '// Generated by scripts/openapi.ts from the services the Copilot manifests name. Do not edit.',
        "import type { paths as ThingService } from './thing-service.d.ts';",
        "import type { paths as X2YZ } from './x2--y_z.d.ts';",
        '',
        "/** Each service's paths (openapi-typescript), by its Copilot name. */",
        'export interface ServicePaths {',
        "  'thing-service': ThingService;",
        "  'x2--y_z': X2YZ;",
        '}',
        '',
        "/** Every service's paths in one type: what a client of the whole API may call. */",
        'export type ApiPaths = ThingService & X2YZ;',
        '',
      ].join('\n'),
    );
    // Another run's file being written is left to it; a removed service's files go.
    writeFileSync(path.join(out, 'gone.json'), '{}');
    writeFileSync(path.join(out, 'index.d.ts.999.partial'), '');
    await generate(services.slice(0, 1), out);
    expect(readdirSync(out).sort()).toEqual([
      'index.d.ts',
      'index.d.ts.999.partial',
      'thing-service.d.ts',
      'thing-service.json',
    ]);
  });

  it('writes an index that names no paths when there is no service', async () => {
    const out = scratch().root;
    writeFileSync(path.join(out, 'stale.d.ts'), '');
    expect(await generate([], out)).toEqual([path.join(out, 'index.d.ts')]);
    expect(readFileSync(path.join(out, 'index.d.ts'), 'utf8')).toContain(
      'export interface ServicePaths {\n}\n\n',
    );
    expect(readFileSync(path.join(out, 'index.d.ts'), 'utf8')).toContain(
      'export type ApiPaths = Record<never, never>;\n',
    );
    expect(existsSync(path.join(out, 'stale.d.ts'))).toBe(false);
  });

  it('writes into .cache/openapi by default', () => {
    expect(OPENAPI_DIR).toBe(path.join(repoRoot, '.cache', 'openapi'));
    expect(documentFile('book-service')).toBe(
      path.join(repoRoot, '.cache', 'openapi', 'book-service.json'),
    );
  });
});
