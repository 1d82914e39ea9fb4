// scripts/mutate-changed.ts as a user runs it: from the checkout or from anywhere else (an
// editor's task, `node /path/to/scripts/mutate-changed.ts`), it diffs this checkout, and a git
// failure is one line. --dry-run only: Stryker never runs here.
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

const SCRIPT = path.join(repoRoot, 'scripts', 'mutate-changed.ts');

function run(
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('mutate-changed', () => {
  // From /tmp it ran `git diff` there: "git ... failed: warning: Not a git repository" and
  // git's whole usage text, about 100 lines.
  it('diffs this checkout from another directory', async () => {
    const here = await run(['--dry-run', '--base', 'HEAD'], repoRoot);
    const elsewhere = await run(['--dry-run', '--base', 'HEAD'], os.tmpdir());
    expect(elsewhere.stderr).toBe('');
    expect(elsewhere).toEqual(here);
  });

  it('says in one line why git failed', async () => {
    const r = await run(['--dry-run', '--base', 'no-such-ref-anywhere'], os.tmpdir());
    expect(r.code).toBe(1);
    const [what, next, ...rest] = r.stderr.split('\n');
    expect(what).toMatch(/^mutate-changed: git diff .* failed: fatal: .*no-such-ref-anywhere/);
    expect(next).toBe(`next: git -C ${repoRoot} status`);
    expect(rest).toEqual(['']);
  });
});
