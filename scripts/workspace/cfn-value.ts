// A value a manifest override (or YAML patch) writes into a template, as CloudFormation reads it
// for an Integer or Boolean property. CloudFormation hands every property value to the resource's
// provider as a string and the provider reads it back as the schema's type, so a quoted "40" for
// an Integer is 40 and "true" for a Boolean is true (cfn-lint made its type rule E3012 lenient
// for that reason: aws-cloudformation/cfn-lint PR #2103; aws-cdk PR #9849: "CloudFormation
// allows treating numbers and strings interchangeably"). Only the plain spellings are read here
// ("40", "-5", "true", "false"); any other text is left unread: assumed refused
// (docs/verified.md).

/** `{ value }`: the integer (or nothing set); `{ unread }`: a value that is not one. */
export function cfnInteger(value: unknown): { value: number | undefined } | { unread: unknown } {
  if (value === undefined || Number.isInteger(value)) return { value: value as number | undefined };
  return typeof value === 'string' && /^-?\d+$/.test(value)
    ? { value: Number(value) }
    : { unread: value };
}

/** `{ value }`: the boolean (or nothing set); `{ unread }`: a value that is not one. */
export function cfnBoolean(value: unknown): { value: boolean | undefined } | { unread: unknown } {
  if (value === undefined || typeof value === 'boolean') return { value };
  return value === 'true' || value === 'false' ? { value: value === 'true' } : { unread: value };
}

/** What a reading holds, an unread value taken as none. */
export function readValue<T>(read: { value: T } | { unread: unknown }): T | undefined {
  return 'value' in read ? read.value : undefined;
}
