// Each script's usage line, run as printed (`<usage command> --help`) by a user's shell: the
// machine's own Node and npx first on PATH (node_modules/.bin is not, as outside npm), from the
// repository's root; and the same script from elsewhere inside the repository
// (`cd services && npx zx ../scripts/x.ts --help`), which must work as well.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { ENTRY_POINTS } from '../helpers/entry-points.ts';

/** PATH as a shell outside npm has it: without any node_modules/.bin. */
const SHELL_PATH = (process.env.PATH ?? '')
  .split(path.delimiter)
  .filter((dir) => !dir.includes('node_modules'))
  .join(path.delimiter);

function shell(command: string, cwd: string): Promise<{ code: number; out: string }> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')),
  );
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', command],
      { cwd, env: { ...env, PATH: SHELL_PATH }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

describe('every usage line runs as printed, with the machine’s own Node first on PATH', () => {
  it('has a machine Node to try it with', async () => {
    const node = await shell('node --version', repoRoot);
    console.log(`the machine's node: ${node.out.trim() || '(none)'}`);
    expect(node.code).toBe(0);
  });

  it.concurrent.each(ENTRY_POINTS)(
    '%s',
    async (name) => {
      const usage = (await shell(`npx node scripts/${name}.ts --help`, repoRoot)).out;
      const printed = /^usage: (.+?) \[flags\]/m.exec(usage)?.[1];
      expect(printed, usage).toMatch(/^(npx (zx|node) scripts\/|npm start --$)/);
      const fromRoot = await shell(`${printed} --help`, repoRoot);
      expect(fromRoot.code, fromRoot.out).toBe(0);
      expect(fromRoot.out).toContain(`usage: ${printed}`);
      const elsewhere = (printed as string).replace('scripts/', '../scripts/');
      const fromServices = await shell(`${elsewhere} --help`, path.join(repoRoot, 'services'));
      expect(fromServices.code, fromServices.out).toBe(0);
    },
    300_000,
  );
});
