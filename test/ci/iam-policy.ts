// Policy evaluation as IAM does it, for the few operators the deploy role uses, so the tests can
// ask "would STS let this token assume the role?" of the template itself. Sources: IAM User
// Guide, "IAM JSON policy elements: Condition operators" (string operators are case-sensitive;
// StringLike's * matches any run of characters and ? one; several values for one key match if
// any matches; several keys and operators must all match; a key absent from the request fails
// a positive operator unless the operator ends in IfExists, and satisfies a negated one) and
// "Single-valued vs. multivalued context keys" (ForAnyValue: some request value matches).

export type Context = Record<string, string | string[] | undefined>;

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: string | string[];
  Principal?: Record<string, string | string[]>;
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Statement: Statement[];
}

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function glob(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replaceAll('*', '.*').replaceAll('?', '.')}$`);
}

const COMPARE: Record<string, (actual: string, wanted: string) => boolean> = {
  StringEquals: (a, w) => a === w,
  StringLike: (a, w) => glob(w).test(a),
  ArnLike: (a, w) => glob(w).test(a),
};

/** One operator over one key, e.g. StringEquals on token.actions.githubusercontent.com:sub. */
function conditionHolds(operator: string, key: string, wanted: string[], ctx: Context): boolean {
  const match = /^(ForAnyValue:|ForAllValues:)?(StringNot|Not)?(\w+?)(IfExists)?$/.exec(operator);
  const [, set, negated, base, ifExists] = match ?? [];
  const compare = COMPARE[negated ? `String${base}` : (base ?? '')];
  if (!compare) throw new Error(`operator ${operator} is not modelled here`);
  const actual = list(ctx[key]);
  if (actual.length === 0) return Boolean(ifExists || negated);
  const one = (a: string) => wanted.some((w) => compare(a, w));
  const result = set === 'ForAllValues:' ? actual.every(one) : actual.some(one);
  return negated ? !result : result;
}

function conditionsHold(statement: Statement, ctx: Context): boolean {
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, wanted]) => conditionHolds(operator, key, list(wanted), ctx)),
  );
}

const matches = (patterns: string[], value: string) =>
  patterns.some((p) => glob(p.toLowerCase()).test(value.toLowerCase()));

export interface Request {
  action: string;
  resource?: string;
  /** The federated principal (the OIDC provider) a web-identity request comes from. */
  federated?: string;
  context: Context;
}

/** The Allow statements that grant the request (none: an implicit deny). */
export function allowingStatements(doc: PolicyDocument, request: Request): Statement[] {
  return doc.Statement.filter(
    (s) =>
      s.Effect === 'Allow' &&
      matches(list(s.Action), request.action) &&
      (request.resource === undefined ||
        list(s.Resource).some((r) => glob(r).test(request.resource ?? ''))) &&
      (request.federated === undefined ||
        list(s.Principal?.Federated).includes(request.federated)) &&
      conditionsHold(s, request.context),
  );
}

export const allows = (doc: PolicyDocument, request: Request) =>
  allowingStatements(doc, request).length > 0;
