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
interface OperationObject {
  responses?: Record<string, { content?: Record<string, MediaType> }>;
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

const DOCUMENT_ID = 'https://openapi.invalid/document.json';

function formatErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? 'is invalid'}`);
}

const templatePattern = (template: string) =>
  new RegExp(
    `^${template
      .split(/(\{[^}]+\})/)
      .map((part) =>
        /^\{[^}]+\}$/.test(part)
          ? `(?<${part.slice(1, -1).replace(/\W/g, '_')}>[^/]+)`
          : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('')}$`,
  );

/**
 * A copy of the document in which every object schema that says nothing about other properties
 * forbids them (`unevaluatedProperties: false`): a field the route sends but the schema lacks is
 * drift as much as a missing one. Members of allOf are left open, as closing one would refuse
 * the properties its siblings declare.
 */
function closeObjects(node: unknown, parentKey = ''): unknown {
  if (Array.isArray(node)) return node.map((child) => closeObjects(child, parentKey));
  if (node === null || typeof node !== 'object') return node;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node)) copy[key] = closeObjects(child, key);
  const open = !('additionalProperties' in copy) && !('unevaluatedProperties' in copy);
  if (copy.type === 'object' && 'properties' in copy && open && parentKey !== 'allOf') {
    copy.unevaluatedProperties = false;
  }
  return copy;
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
    this.#ajv.addSchema(closeObjects(document) as object, DOCUMENT_ID);
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
      const groups = templatePattern(template).exec(pathname)?.groups;
      if (names.length === 0 || !groups) continue;
      const values = Object.values(groups).map((v) => decodeURIComponent(v));
      return { template, params: Object.fromEntries(names.map((n, i) => [n, values[i] ?? ''])) };
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
    const content = responses[key]?.content;
    if (!content) return [];
    const mediaType = answer.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    const media = content[mediaType];
    if (!media) {
      return [
        `${where} ${status} answered content-type "${answer.contentType}", documented: ${Object.keys(content).join(', ')}`,
      ];
    }
    if (media.schema === undefined) return [];
    let body: unknown;
    try {
      body = JSON.parse(answer.body);
    } catch {
      return [`${where} ${status}: the body is not JSON`];
    }
    const validate = this.#validator([
      'paths',
      template,
      method.toLowerCase(),
      'responses',
      key,
      'content',
      mediaType,
      'schema',
    ]);
    if (validate(body)) return [];
    const errors = formatErrors(validate.errors);
    // The first few say what drifted; a list of items repeats them.
    const shown = errors.slice(0, 3).map((e) => `${where} ${status} body: ${e}`);
    return errors.length > 3 ? [...shown, `and ${errors.length - 3} more`] : shown;
  }

  /** Every example in the document, each with its schema's verdict; `problems` empty if valid. */
  examples(): { at: string; problems: string[] }[] {
    const found: { at: string; problems: string[] }[] = [];
    const visit = (node: unknown, segments: string[]) => {
      if (node === null || typeof node !== 'object') return;
      // Under `properties` each key is a property's name, whatever it is (even "example").
      if (segments.at(-1) === 'properties') {
        for (const [key, child] of Object.entries(node)) visit(child, [...segments, key]);
        return;
      }
      if (Array.isArray(node)) {
        for (const [i, child] of node.entries()) visit(child, [...segments, String(i)]);
        return;
      }
      const object = node as Record<string, unknown>;
      // A media type, parameter or header gives examples of its `schema`; a schema, of itself.
      const schemaAt = 'schema' in object ? [...segments, 'schema'] : segments;
      const values: [string, unknown][] = [];
      if ('example' in object) values.push(['example', object.example]);
      if ('examples' in object && object.examples && typeof object.examples === 'object') {
        for (const [name, value] of Object.entries(object.examples)) {
          // Schema `examples` is an array of values; elsewhere a map of Example Objects.
          values.push([
            `examples/${name}`,
            Array.isArray(object.examples) ? value : (value as { value?: unknown }).value,
          ]);
        }
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
        if (key !== 'example' && key !== 'examples') visit(child, [...segments, key]);
      }
    };
    visit(this.#document, []);
    return found;
  }
}
