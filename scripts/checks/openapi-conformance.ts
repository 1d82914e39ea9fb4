// Whether an answer is what a service's OpenAPI document promises: a documented status, a
// documented content type, and a body valid against the documented schema (JSON Schema 2020-12,
// the dialect of OpenAPI 3.1). The smoke test judges every service call by it, against the
// document its generated client came from, so a route or schema that drifts from the document
// fails there; the services' tests judge their in-process answers by it too. It also checks that
// every example the document gives is valid against its own schema.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';

interface MediaType {
  schema?: unknown;
}
interface ResponseObject {
  content?: Record<string, MediaType>;
}
interface OperationObject {
  responses?: Record<string, unknown>;
}
/** The parts of an OpenAPI 3.1 document read here. */
export interface OpenApiDocument {
  paths?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export interface OperationMatch {
  /** The documented path template, `/api/books/{id}`. */
  template: string;
  /** The path parameters read from the concrete path, `{ id: '1' }`. */
  params: Record<string, string>;
}

/** RFC 6901 JSON pointer, `/paths/~1api~1books/get`. */
const pointer = (segments: string[]) =>
  segments.map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

/** The pointer as a URI fragment, as Ajv resolves `$ref`s. */
const fragment = (segments: string[]) =>
  `#${pointer(segments).split('/').map(encodeURIComponent).join('/')}`;

/** The segments a local `$ref` names (`#/components/schemas/Book`); undefined for any other. */
function refSegments(node: unknown): string[] | undefined {
  const ref = (node as { $ref?: unknown } | null | undefined)?.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'));
}

const lookup = (root: unknown, segments: string[]) =>
  segments.reduce<unknown>((node, s) => (node as Record<string, unknown> | undefined)?.[s], root);

/**
 * A Reference Object followed to what it names, and where that is: OpenAPI 3.1 lets a response
 * or an example be a `$ref` to the components (Responses Object, Media Type Object `examples`).
 */
function follow(root: unknown, node: unknown, at: string[]): { node: unknown; at: string[] } {
  const seen = new Set<string>();
  for (let target = refSegments(node); target; target = refSegments(node)) {
    const key = pointer(target);
    if (seen.has(key)) break;
    seen.add(key);
    at = target;
    node = lookup(root, target);
  }
  return { node, at };
}

const DOCUMENT_ID = 'https://openapi.invalid/document.json';
/** The keywords whose value maps names to schemas (JSON Schema 2020-12). */
const NAME_MAPS = new Set(['properties', 'patternProperties', '$defs', 'dependentSchemas']);
/** Where the closed document keeps the open twins of schemas that allOf members name. */
const OPEN_TWINS = 'x-conformance-open';

function formatErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? 'is invalid'}`);
}

// Split by a capturing pattern, the template's odd parts are its `{name}`s. Unnamed groups: a
// parameter's name may be anything (`{0}`, `{item-id}`), which no group name may be.
const templatePattern = (template: string) =>
  new RegExp(
    `^${template
      .split(/(\{[^}]+\})/)
      .map((part, i) => (i % 2 ? '([^/]+)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  );

/** OpenAPI 3.1 writes a nullable object `type: ['object', 'null']` (a type array). */
const describesObjects = (schema: Record<string, unknown>) =>
  'properties' in schema &&
  (schema.type === 'object' || (Array.isArray(schema.type) && schema.type.includes('object')));

/**
 * A copy of the document in which every object schema that says nothing about other properties
 * forbids them (`unevaluatedProperties: false`): a field the route sends but the schema lacks is
 * drift as much as a missing one. An allOf is closed as a whole, its members left open, as
 * closing one would refuse the properties its siblings declare; a member that is a `$ref` (as
 * @hono/zod-openapi writes `.extend()` of a named schema) names an open twin of its target, kept
 * under OPEN_TWINS, since the target itself is closed where it is defined.
 */
function closeDocument(document: object): object {
  const twins: Record<string, unknown> = {};
  const open = (member: Record<string, unknown>) => {
    const target = refSegments(member);
    if (!target) return member;
    const key = pointer(target);
    if (!(key in twins)) {
      twins[key] = {};
      twins[key] = close(lookup(document, target), 'allOf');
    }
    return { ...member, $ref: fragment([OPEN_TWINS, key]) };
  };
  const close = (node: unknown, parentKey: string): unknown => {
    if (Array.isArray(node)) return node.map((child) => close(child, parentKey));
    if (node === null || typeof node !== 'object') return node;
    const copy: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      // OpenAPI 3.0's `nullable` is no keyword of 3.1, where a type array says it (see
      // https://learn.openapis.org/upgrading/v3.0-to-v3.1), but Ajv honours it, and throws
      // where it stands without a `type`.
      if (key === 'nullable' && typeof child === 'boolean' && parentKey !== 'properties') continue;
      copy[key] = close(child, key);
    }
    if (parentKey === 'allOf') return open(copy);
    const unsaid = !('additionalProperties' in copy) && !('unevaluatedProperties' in copy);
    if (unsaid && (describesObjects(copy) || 'allOf' in copy)) copy.unevaluatedProperties = false;
    return copy;
  };
  const closed = close(document, '') as Record<string, unknown>;
  closed[OPEN_TWINS] = twins;
  return closed;
}

/** A media type without its parameters, in lower case (RFC 9110 8.3.1: case-insensitive). */
const essence = (type: string) => type.replace(/;.*/s, '').trim().toLowerCase();

/** JSON, `application/json` or any `+json` type (RFC 6839); other bodies are their text. */
const isJson = (mediaType: string) =>
  mediaType === 'application/json' || mediaType.endsWith('+json');

/**
 * The documented media type an answer of `mediaType` takes: the most specific key, `text/plain`
 * before `text/*` before `*\/*`, each read without its parameters (OpenAPI 3.1 Response Object
 * `content`: "only the most specific key is applicable").
 */
function documentedType(content: Record<string, unknown>, mediaType: string): string | undefined {
  const ranges = [mediaType, `${mediaType.replace(/\/.*/s, '')}/*`, '*/*'];
  for (const range of ranges) {
    const key = Object.keys(content).find((k) => essence(k) === range);
    if (key !== undefined) return key;
  }
  return undefined;
}

export class Conformance {
  readonly #document: OpenApiDocument;
  readonly #ajv: Ajv2020;
  readonly #compiled = new Map<string, ValidateFunction>();

  /** `document`: an OpenAPI 3.1 document, as parsed JSON. */
  constructor(document: object) {
    this.#document = document as OpenApiDocument;
    // Not strict: OpenAPI adds keywords (`example`, `discriminator`, `xml`) to JSON Schema.
    this.#ajv = new Ajv2020({ strict: false, allErrors: true });
    // A CommonJS module: its function is also its `default` member, which is what TS types.
    ajvFormats.default(this.#ajv);
    this.#ajv.addSchema(closeDocument(document), DOCUMENT_ID);
  }

  /** The documented operation for `method` whose path matches `pathname`: exact paths first. */
  match(method: string, pathname: string): OperationMatch | undefined {
    const paths = Object.entries(this.#document.paths ?? {}).filter(
      ([, item]) => item[method.toLowerCase()] !== undefined,
    );
    const exact = paths.find(([template]) => template === pathname);
    if (exact) return { template: exact[0], params: {} };
    for (const [template] of paths) {
      const names = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
      const values = templatePattern(template).exec(pathname)?.slice(1);
      if (!values) continue;
      const params = names.map((n, i) => [n, decodeURIComponent(values[i] as string)]);
      return { template, params: Object.fromEntries(params) };
    }
    return undefined;
  }

  #validator(segments: string[]): ValidateFunction {
    const ref = `${DOCUMENT_ID}${fragment(segments)}`;
    let validate = this.#compiled.get(ref);
    if (!validate) {
      validate = this.#ajv.compile({ $ref: ref });
      this.#compiled.set(ref, validate);
    }
    return validate;
  }

  /** Why this answer breaks the document's promise for the operation; empty when it keeps it. */
  check(
    method: string,
    template: string,
    answer: { status: number; contentType: string; body: string },
  ): string[] {
    const where = `${method.toUpperCase()} ${template}`;
    const operation = this.#document.paths?.[template]?.[method.toLowerCase()] as
      | OperationObject
      | undefined;
    if (!operation) return [`${where} is not in the document`];
    const responses = operation.responses ?? {};
    const status = String(answer.status);
    const key = [status, `${status[0]}XX`, 'default'].find((k) => responses[k] !== undefined);
    if (key === undefined) {
      return [
        `${where} answered ${status}, which the document does not list (${Object.keys(responses).join(', ')})`,
      ];
    }
    const response = follow(this.#document, responses[key], [
      'paths',
      template,
      method.toLowerCase(),
      'responses',
      key,
    ]);
    const content = (response.node as ResponseObject | undefined)?.content;
    if (!content) return [];
    const mediaType = essence(answer.contentType);
    const documented = documentedType(content, mediaType);
    if (documented === undefined) {
      return [
        `${where} ${status} answered content-type "${answer.contentType}", documented: ${Object.keys(content).join(', ')}`,
      ];
    }
    if (content[documented]?.schema === undefined) return [];
    let body: unknown = answer.body;
    if (isJson(mediaType)) {
      try {
        body = JSON.parse(answer.body);
      } catch {
        return [`${where} ${status}: the body is not JSON`];
      }
    }
    const validate = this.#validator([...response.at, 'content', documented, 'schema']);
    if (validate(body)) return [];
    const errors = formatErrors(validate.errors);
    // The first few say what drifted; a list of items repeats them.
    const shown = errors.slice(0, 3).map((e) => `${where} ${status} body: ${e}`);
    return errors.length > 3 ? [...shown, `and ${errors.length - 3} more`] : shown;
  }

  /** Every example in the document, each with its schema's verdict; `problems` empty if valid. */
  examples(): { at: string; problems: string[] }[] {
    const found: { at: string; problems: string[] }[] = [];
    const visit = (node: unknown, segments: string[], names = false) => {
      if (node === null || typeof node !== 'object') return;
      // In a map of names (properties, definitions, components) each key is one, even "example".
      if (names) {
        for (const [key, child] of Object.entries(node)) visit(child, [...segments, key]);
        return;
      }
      const object = node as Record<string, unknown>;
      // A media type, parameter or header gives examples of its `schema`; a schema, of itself.
      const schemaAt = 'schema' in object ? [...segments, 'schema'] : segments;
      const values: [string, unknown][] = [];
      if ('example' in object) values.push(['example', object.example]);
      // Schema `examples` is an array of values; elsewhere a map of Example Objects, each maybe
      // a `$ref`, and one with only an `externalValue` has its value elsewhere.
      const examples = (object.examples ?? {}) as object;
      for (const [name, value] of Object.entries(examples)) {
        const example = Array.isArray(examples)
          ? { value }
          : (follow(this.#document, value, []).node as { value?: unknown } | null | undefined);
        if (example?.value !== undefined) values.push([`examples/${name}`, example.value]);
      }
      for (const [name, value] of values) {
        const validate = this.#validator(schemaAt);
        const ok = validate(value);
        found.push({
          at: `#${pointer(segments)}/${name}`,
          problems: ok ? [] : formatErrors(validate.errors),
        });
      }
      for (const [key, child] of Object.entries(object)) {
        if (key !== 'example' && key !== 'examples') {
          visit(child, [...segments, key], NAME_MAPS.has(key));
        }
      }
    };
    const { components, ...rest } = this.#document;
    visit(rest, []);
    // The components are maps of names; their Example Objects are judged where they are used.
    for (const [kind, map] of Object.entries(components ?? {})) {
      if (kind !== 'examples') visit(map, ['components', kind], true);
    }
    return found;
  }
}
