// `node bench/startup-floors.ts` runs end to end: the three floors, raw and book-service (the
// lighter floors and book-service also with a compile cache the script fills first, and refuses
// to run without) each start, answer
// raw's bytes on GET /api/books (the script refuses otherwise), and are reported.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

const run = promisify(execFile);

describe('bench/startup-floors.ts', () => {
  it('starts each server once and reports its start and idle RSS against raw', async () => {
    const script = path.join(repoRoot, 'bench', 'startup-floors.ts');
    const { stdout } = await run(process.execPath, [script, '--samples', '1'], { cwd: repoRoot });
    const names = [
      'raw node:http',
      'the floor, checks by hand',
      'the floor, zod/mini',
      'the floor, zod (the `floor` row)',
      'book-service',
      'the floor, checks by hand, compile cache filled',
      'the floor, zod/mini, compile cache filled',
      'book-service, compile cache filled',
    ];
    const lines = stdout.trim().split('\n').slice(2);
    // Each line's name: the longest that begins it ('book-service' begins two, as do the floors').
    const nameOf = (line: string) =>
      names.filter((name) => line.startsWith(name)).sort((a, b) => b.length - a.length)[0];
    expect(lines.map(nameOf)).toEqual(names);
    // raw's own ratio is 1.00; every row has a median and an idle RSS.
    expect(lines[0]).toMatch(/\s1\.00\s+\d+\.\d$/);
    for (const line of lines) expect(line).toMatch(/\d+\s+\d+\.\d\d\s+\d+\.\d$/);
  }, 120_000);
});
