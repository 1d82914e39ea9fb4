// The fast readers of a route's input against the general ones they stand in for: Node's
// querystring for the query, zod's object parse for the path parameters. Same answers, always.
import { parse } from 'node:querystring';
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { describe, expect, it } from 'vitest';
import { paramsChecker, queryOf } from '../src/route-input.ts';

/** Every string of `length` pieces drawn from `pieces`. */
function* strings(pieces: readonly string[], length: number): Generator<string> {
  if (length === 0) {
    yield '';
    return;
  }
  for (const head of pieces) for (const tail of strings(pieces, length - 1)) yield head + tail;
}

/** What a schema sees of a record: its own keys and their values, nothing inherited. */
const own = (record: object) => Object.fromEntries(Object.entries(record));

describe('queryOf, against Node querystring', () => {
  const plain = ['a', 'b', '=', '&', 'toString', '__proto__'];

  it('splits every plain query as querystring does (empty pieces, bare keys, repeats)', () => {
    let compared = 0;
    for (let length = 0; length <= 5; length++) {
      for (const query of strings(plain, length)) {
        expect(own(queryOf(`http://h/p?${query}`)), query).toEqual(own(parse(query, '&', '=')));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(9000);
  });

  it('inherits nothing: a key named like an Object method is only what the query says', () => {
    const record = queryOf('http://h/p?limit=1');
    expect(record.toString).toBeUndefined();
    expect(record.constructor).toBeUndefined();
    expect(Object.getPrototypeOf(queryOf('http://h/p?__proto__=1'))).not.toBe(Object.prototype);
    const repeated = own(queryOf('http://h/p?__proto__=1&__proto__=2'));
    expect(repeated).toEqual(Object.fromEntries([['__proto__', ['1', '2']]]));
  });

  it.each(['limit=%32', 'limit=1+2', 'a%3Db=c', 'limit=%E0%A4%A', 'x=%&y=+'])(
    'decodes %s as querystring does',
    (query) => {
      expect(own(queryOf(`http://h/p?${query}#frag`))).toEqual(own(parse(query, '&', '=')));
    },
  );

  it('reads only between the ? and the #', () => {
    expect(own(queryOf('http://h/p?a=1#b=2'))).toEqual({ a: '1' });
    expect(own(queryOf('http://h/p#?a=1'))).toEqual({});
    expect(own(queryOf('http://h/p'))).toEqual({});
  });
});

/** A context whose router matched `params`. */
const matched = (params: Record<string, string>) =>
  ({ req: { param: (name: string) => params[name] } }) as unknown as Context;

const digits = z.string().regex(/^\d+$/, { message: 'digits', abort: true });
const small = digits.refine((value) => Number(value) <= 10, { message: 'at most 10' });

describe('paramsChecker, against parsing the object', () => {
  const schemas = {
    'one field': z.object({ id: small }),
    'two fields': z.object({ a: small, b: digits.transform(Number) }),
    'an optional field': z.object({ a: small, c: digits.optional() }),
    'a check of the object': z
      .object({ a: digits, b: digits })
      .refine((p) => p.a !== p.b, { message: 'a and b differ' }),
    'a strict object': z.strictObject({ a: digits }),
    'a defaulted field': z.object({ a: small, c: digits.default('7') }),
    'a field read as nothing': z.object({ a: small, b: digits.transform(() => undefined) }),
    'a record, not an object': z.record(z.string(), digits),
  };
  const given = [{ id: '3' }, { id: '11' }, { id: 'x' }, { a: '1', b: '2' }, { a: 'x', b: 'y' }];
  const cases = Object.entries(schemas).flatMap(([name, schema]) =>
    [...given, { a: '12', b: '12' }, { a: '1', b: '1', c: '2' }].map(
      (params) => [name, JSON.stringify(params), schema, params] as const,
    ),
  );

  it.each(cases)('%s, given %s: the same data or the same issues', (_, __, schema, params) => {
    const names = Object.keys(params);
    const expected = schema.safeParse(params);
    const got = paramsChecker(schema, names)(matched(params));
    expect(got.success).toBe(expected.success);
    if (got.success && expected.success) expect(got.data).toStrictEqual(expected.data);
    if (!got.success && !expected.success) expect(got.error.issues).toEqual(expected.error.issues);
  });
});
