// Folders for a test's fixture files, under .cache/test-fixtures (git ignores .cache), each
// removed after the test that made it, passing or failing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach } from 'vitest';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

export interface ScratchFolder {
  root: string;
  /** Writes `text` to the folder-relative file, making its folders. */
  write(relative: string, text: string): void;
}

/** A maker of scratch folders named `<prefix>-*`; call once at the top of a test file. */
export function scratchFolders(prefix: string): () => ScratchFolder {
  const scratch = path.join(repoRoot, '.cache', 'test-fixtures');
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    mkdirSync(scratch, { recursive: true });
    const root = mkdtempSync(path.join(scratch, `${prefix}-`));
    made.push(root);
    const write = (relative: string, text: string) => {
      const file = path.join(root, relative);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
    };
    return { root, write };
  };
}
