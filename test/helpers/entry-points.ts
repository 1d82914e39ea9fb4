// The project's entry points, shared by the tests that check how they are invoked.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

/** The entry points: scripts/<name>.ts (ensure-node.mjs runs before anything is installed). */
export const ENTRY_POINTS = readdirSync(path.join(repoRoot, 'scripts'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''));
