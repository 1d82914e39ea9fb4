// A throwaway copy of the repository as a git work tree: the files git would show (tracked, and
// untracked but not ignored), committed, with node_modules linked in. A script run from it can be
// checked with `git status` for any file it changed, without touching the real work tree.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

export interface RepoCopy {
  root: string;
  /** `git status --porcelain` of the copy: empty when nothing changed. */
  status(): string;
  cleanup(): void;
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export function repoCopy(): RepoCopy {
  const root = mkdtempSync(path.join(os.tmpdir(), 'repo-copy-'));
  const files = git(repoRoot, 'ls-files', '-z', '--cached', '--others', '--exclude-standard')
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    const from = path.join(repoRoot, file);
    try {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      cpSync(from, path.join(root, file));
    } catch (error) {
      // A tracked file deleted in the work tree is simply not copied.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'));
  git(root, 'init', '-q');
  // The link is a file to git, which `node_modules/` in .gitignore does not cover.
  writeFileSync(path.join(root, '.git', 'info', 'exclude'), 'node_modules\n');
  git(root, 'add', '-A');
  git(
    root,
    '-c',
    'user.name=test',
    '-c',
    'user.email=test@example.invalid',
    'commit',
    '-qm',
    'copy',
  );
  return {
    root,
    status: () => git(root, 'status', '--porcelain'),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
