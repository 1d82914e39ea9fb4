// How a route's input is read from a request before its schemas check it: the query as a
// record, and the path parameters checked field by field. Both are on every validated request's
// path, so each is written for the common case and falls back to the general one; a
// differential test holds each to what the general one gives.
import { parse } from 'node:querystring';
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';

export type QueryRecord = Record<string, string | string[] | undefined>;

/**
 * The query's record: no own key but the query's (no `toString`, `__proto__` an ordinary key),
 * like Node's querystring, yet in fast properties (a null-prototype object literal would be a
 * dictionary).
 */
function QueryRecordOf(this: QueryRecord) {}
QueryRecordOf.prototype = Object.create(null);
const emptyRecord = () => new (QueryRecordOf as unknown as new () => QueryRecord)();

/**
 * The query as Hono's query validator gives it to its schema: a key given once a string, a
 * repeated key an array (which a string schema refuses); no `?`, no keys. Node's querystring
 * (`+` a space, `%` escapes decoded, a broken one kept) reads any query with `+` or `%`; the
 * rest, plain `key=value` pairs, is split here by the same rules, in fewer instructions
 * (bench/README.md: the page route 1.8% above the floor's count before, at it after).
 */
export function queryOf(url: string): QueryRecord {
  const hash = url.indexOf('#');
  const end = hash === -1 ? url.length : hash;
  const start = url.indexOf('?');
  if (start === -1 || start > end) return {};
  const query = url.slice(start + 1, end);
  if (query.includes('%') || query.includes('+')) return parse(query, '&', '=', { maxKeys: 0 });
  const record = emptyRecord();
  for (let from = 0; from < query.length; ) {
    const amp = query.indexOf('&', from);
    const to = amp === -1 ? query.length : amp;
    // An empty piece (`&&`) names nothing; `=` alone names the empty key.
    if (to > from) {
      const eq = query.indexOf('=', from);
      // No `=` in this piece: the whole piece is the key, its value ''.
      const bare = eq === -1 || eq > to;
      add(
        record,
        bare ? query.slice(from, to) : query.slice(from, eq),
        bare ? '' : query.slice(eq + 1, to),
      );
    }
    from = to + 1;
  }
  return record;
}

function add(record: QueryRecord, key: string, value: string) {
  const had = record[key];
  if (had === undefined) record[key] = value;
  else if (typeof had === 'string') record[key] = [had, value];
  else had.push(value);
}

type Checked =
  | { success: true; data: unknown }
  | { success: false; error: { issues: z.core.$ZodIssue[] } };

/**
 * How a route's path parameters are checked. A plain object schema (no check of the object's
 * own, unknown keys stripped) is checked field by field on `c.req.param(name)`, each issue's
 * path starting with its field, as parsing the object would: no object to build first and none
 * to walk (about 1,000 fewer instructions a request, bench/README.md). Any other schema parses
 * the object.
 * Parameters are asked for by name: `c.req.param()` with no name lists the router's match
 * first, and the pattern router's match is a dictionary (a regular expression's named groups),
 * slow to list (1.5% of book-service's CPU on `/api/books/3`, profiled).
 */
export function paramsChecker(
  schema: z.ZodType,
  names: readonly string[],
): (c: Context) => Checked {
  if (!(schema instanceof z.ZodObject) || schema.def.checks?.length || schema.def.catchall) {
    return (c) => {
      const params: Record<string, string | undefined> = {};
      for (const name of names) params[name] = c.req.param(name);
      return schema.safeParse(params);
    };
  }
  const shape = schema.shape as Record<string, z.ZodType>;
  const keys = Object.keys(shape);
  const fields = keys.map((key) => shape[key] as z.ZodType);
  return (c) => {
    const data: Record<string, unknown> = {};
    let issues: z.core.$ZodIssue[] | undefined;
    for (let i = 0; i < keys.length; i++) {
      const name = keys[i] as string;
      const given = c.req.param(name);
      const result = (fields[i] as z.ZodType).safeParse(given);
      if (result.success) {
        if (result.data !== undefined || given !== undefined) data[name] = result.data;
        continue;
      }
      issues ??= [];
      for (const issue of result.error.issues)
        issues.push({ ...issue, path: [name, ...issue.path] });
    }
    return issues ? { success: false, error: { issues } } : { success: true, data };
  };
}
