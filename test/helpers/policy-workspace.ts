// The real workspace as the policy tests change it: a deep copy of the loaded manifests with one
// setting edited, the row one control gives one resource, and the repository's own files.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { evaluateControls } from '../../scripts/checks/policy.ts';
import { loadWorkspace, repoRoot, type Workspace } from '../../scripts/workspace/manifests.ts';

export const real = loadWorkspace();
export const readReal = (relative: string) => readFileSync(path.join(repoRoot, relative), 'utf8');

/** A deep copy of the real workspace with `edit` applied to it (manifests as plain data). */
export function mutated(edit: (ws: Workspace) => void): Workspace {
  const copy = structuredClone(real);
  edit(copy);
  return copy;
}

type Loose = Record<string, unknown>;
/** A manifest as plain data, for fields the project's schema does not declare. */
export const loose = (value: unknown) => value as Loose;

export const book = (ws: Workspace) =>
  ws.services.find((s) => s.name === 'book-service') as Workspace['services'][number];

export function envManifest(ws: Workspace) {
  const env = ws.environments[0];
  if (!env) throw new Error('the workspace has no environment');
  return env.manifest;
}

export function dropOverride(ws: Workspace, suffix: string): void {
  const s = book(ws);
  s.manifest.taskdef_overrides = (s.manifest.taskdef_overrides ?? []).filter(
    (o) => !o.path.endsWith(suffix),
  );
}

export function setOverride(ws: Workspace, suffix: string, value: string | number | boolean): void {
  dropOverride(ws, suffix);
  book(ws).manifest.taskdef_overrides?.push({ path: `ContainerDefinitions[0].${suffix}`, value });
}

/** The row `control` gives `resource`; throws when there is none. */
export function rowOf(
  ws: Workspace,
  control: string,
  resource = 'book-service',
  readText = readReal,
) {
  const row = evaluateControls(ws, readText).find(
    (r) => r.control === control && r.resource === resource,
  );
  if (!row) throw new Error(`no row for ${control} on ${resource}`);
  return row;
}
