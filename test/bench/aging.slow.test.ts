// `node bench/aging.ts` runs end to end, as short as it goes: one book-service process and one
// control, started as the bench starts its service row, each checked to have withheld the option
// or not (the script fails with status 2 otherwise), loaded window by window, and judged. Its
// verdict on windows this short is noise, so either verdict passes here; the verdict's rules are
// test/bench/aging.test.ts's.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

const run = promisify(execFile);

describe('bench/aging.ts', () => {
  it('loads a book-service process and a control in turn and judges each', async () => {
    const script = path.join(repoRoot, 'bench', 'aging.ts');
    const args = [
      '--processes',
      '1',
      '--control',
      '1',
      '--seconds',
      '1',
      '--window',
      '1',
      '--warmup',
      '1',
    ];
    const { stdout, stderr, code } = await run(process.execPath, [script, ...args], {
      cwd: repoRoot,
    }).then(
      (done) => ({ ...done, code: 0 }),
      (failed: { stdout: string; stderr: string; code: number }) => failed,
    );
    expect(stderr).not.toContain('aging failed');
    expect([0, 1]).toContain(code);
    const lines = stdout.trim().split('\n');
    expect(lines[2]).toMatch(/^book-service 1 .*\(\d\.\d\dx\).*\s(held|stepped)$/);
    expect(lines[3]).toMatch(/^control 1 \(withheld\) .*\s(held|stepped)$/);
    const last = lines.at(-1) ?? '';
    expect(last).toMatch(code === 1 ? /^SLOWED: / : /^(HELD|INCONCLUSIVE): /);
    // Two windows of each route per process: one early, one late.
    expect(stderr.match(/^window \d\/6 /gm)).toHaveLength(6);
  }, 120_000);
});
