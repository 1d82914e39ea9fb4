// A value inside parsed YAML or JSON by its keys, whatever the schema says (manifests, patch
// values, templates): undefined as soon as a step is not an object.
export function valueAt(node: unknown, keys: readonly string[]): unknown {
  let value = node;
  for (const key of keys) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The same by a dotted path: `network.vpc.placement`. */
export const fieldAt = (node: unknown, dotted: string): unknown => valueAt(node, dotted.split('.'));
