// Copilot's YAML patch overrides in the workspace: where Copilot looks for them and what they
// say. A workload's patches are `copilot/<name>/overrides/cfn.patches.yml`
// (internal/pkg/workspace/workspace.go WorkloadOverridesPath); the environments share
// `copilot/environments/overrides/cfn.patches.yml` (EnvOverridesPath). The file is a list of
// RFC 6902-style operations `{op, path, value}` with a JSON Pointer path
// (internal/pkg/override/patch.go: YAMLPatchFile, yamlPatch), applied to the rendered template by
// `svc deploy`/`env deploy` and by `svc package`/`env package` alike.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { firstYamlDocument, readYamlFile } from './files.ts';
import { valueAt } from './value-at.ts';

export const PATCH_FILE = 'cfn.patches.yml';

/** The stacks Copilot renders from a workspace: the environment's, or one workload's. */
export type RenderedStack = { kind: 'environment' } | { kind: 'service'; name: string };

/** The patch file Copilot applies to a stack, relative to the workspace root. */
export function patchFile(stack: RenderedStack): string {
  const dir = stack.kind === 'environment' ? 'environments' : stack.name;
  return path.posix.join('copilot', dir, 'overrides', PATCH_FILE);
}

const patchSchema = z.array(
  z
    .strictObject({
      op: z.enum(['add', 'remove', 'replace']),
      path: z.string().startsWith('/'),
      value: z.unknown().optional(),
    })
    // patch.go applyAdd, applyReplace: "value required" for a missing value. A YAML null is one
    // (yaml.v3 decodes it into a non-zero yaml.Node), so only a missing key is refused.
    .refine((p) => p.op === 'remove' || p.value !== undefined, {
      path: ['value'],
      message: '`add` and `replace` need a value (Copilot: "value required")',
    }),
);

export type Patch = z.infer<typeof patchSchema>[number];

/** The patches of a stack (an empty list when it has no patch file). Throws on a malformed file. */
export function readPatches(root: string, stack: RenderedStack): Patch[] {
  const file = path.join(root, patchFile(stack));
  if (!existsSync(file)) return [];
  const fail = (message: string) => new Error(message);
  const patches: unknown = readYamlFile(
    file,
    patchFile(stack),
    (text) => firstYamlDocument(text),
    fail,
  );
  const parsed = patchSchema.safeParse(patches ?? []);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `${patchFile(stack)}: ${issue?.path.join('.') || '(top level)'}: ${issue?.message} (a list of {op: add|remove|replace, path: /JSON/Pointer, value})`,
    );
  }
  return parsed.data;
}

/** JSON Pointer (RFC 6901) segments: `/Resources/A~1B` -> [Resources, A/B]. */
export function pointerSegments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Where a function's runtime sits under its resource. */
const RUNTIME_UNDER_RESOURCE = ['Properties', 'Runtime'];

/**
 * The runtime each patch file leaves on a function: logical id -> runtime and the index of the
 * patch that set it. Patches apply in order (override/patch.go), so a later one replaces an
 * earlier one's runtime, whether it sets the Runtime, the function's Properties or the whole
 * resource (a value without a string Runtime leaves none known); a `remove` of any of the three
 * leaves none.
 */
export function runtimePatches(patches: Patch[]): Map<string, { runtime: string; index: number }> {
  const found = new Map<string, { runtime: string; index: number }>();
  for (const [index, p] of patches.entries()) {
    const [top, id, ...below] = pointerSegments(p.path);
    if (top !== 'Resources' || id === undefined) continue;
    // Deeper than the Runtime, or beside it: not a runtime patch.
    if (below.some((segment, i) => segment !== RUNTIME_UNDER_RESOURCE[i])) continue;
    const runtime = valueAt(p.value, RUNTIME_UNDER_RESOURCE.slice(below.length));
    if (p.op !== 'remove' && typeof runtime === 'string') found.set(id, { runtime, index });
    else found.delete(id);
  }
  return found;
}

/** The logical ids a patch path needs Copilot to render: `/Resources/<id>/...` -> id. */
export function patchedResource(p: Patch): string | undefined {
  const [top, id] = pointerSegments(p.path);
  return top === 'Resources' ? id : undefined;
}

/** The patch that moves a function to a runtime, as the lines to add to a patch file. */
export function runtimePatchYaml(fn: string, runtime: string): string {
  return `- op: replace\n  path: /Resources/${fn}/Properties/Runtime\n  value: ${runtime}`;
}
