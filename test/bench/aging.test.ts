// bench/aging.ts's verdict on synthetic windows (bench/lib/aging.ts), and its control: the
// preload that withholds the services' memory-reducer option and nothing else.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  type AgingSeries,
  judge,
  routeChange,
  STEP_RATIO,
  sideWindows,
  summary,
  verdict,
  windowsPerServer,
} from '../../bench/lib/aging.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

const run = promisify(execFile);

/** A server whose windows on every route are `windows`. */
const series = (label: string, control: boolean, windows: number[]): AgingSeries => ({
  label,
  control,
  windows: { list: [...windows], item: [...windows], page: [...windows] },
});

const flat = [25, 25, 25, 25, 25, 25, 25, 25, 25];
/** The step found on 2026-12-07: about 1.25x from one window on, and it stays. */
const stepped = [25, 24, 26, 25, 31, 32, 31, 30, 32];

describe('routeChange', () => {
  it('compares the median of the first windows with the median of the last ones', () => {
    expect(routeChange([20, 30, 25, 99, 1, 30, 33, 36])).toEqual({
      early: 25,
      late: 33,
      ratio: 33 / 25,
    });
  });

  it('never compares a window with itself, and needs two', () => {
    expect(sideWindows(2)).toBe(1);
    expect(sideWindows(5)).toBe(2);
    expect(sideWindows(40)).toBe(3);
    expect(routeChange([20, 30]).ratio).toBe(1.5);
    expect(() => routeChange([20])).toThrow('at least 2 windows');
  });
});

describe('judge', () => {
  it('calls a step that stays a step, and a window that rises and comes back none', () => {
    expect(judge(series('a', false, stepped)).stepped).toBe(true);
    expect(judge(series('b', false, flat)).stepped).toBe(false);
    expect(judge(series('c', false, [25, 25, 25, 40, 45, 40, 25, 25, 25])).stepped).toBe(false);
  });

  it('needs most routes up, at STEP_RATIO or more', () => {
    const at = flat.map((w, i) => (i >= 6 ? w * STEP_RATIO : w));
    const below = flat.map((w, i) => (i >= 6 ? w * STEP_RATIO * 0.99 : w));
    const mixed = (page: number[], item: number[]): AgingSeries => ({
      label: 'm',
      control: false,
      windows: { list: at, item, page },
    });
    expect(judge(mixed(at, flat)).stepped).toBe(true);
    expect(judge(mixed(flat, flat)).stepped).toBe(false);
    expect(judge(mixed(below, flat)).stepped).toBe(false);
    expect(judge(mixed(at, below)).routes.item.ratio).toBeLessThan(STEP_RATIO);
  });
});

describe('verdict and summary', () => {
  const held = judge(series('book-service 1', false, flat));
  const slowed = judge(series('book-service 2', false, stepped));
  const controlStepped = judge(series('control 1', true, stepped));
  const controlHeld = judge(series('control 2', true, flat));

  it('is SLOWED when a book-service process stepped, whatever the controls did', () => {
    expect(verdict([held, slowed, controlHeld])).toBe('SLOWED');
    expect(summary([held, slowed, controlStepped])).toMatch(
      /^SLOWED: 1 of 2 book-service processes stepped .*; 1 of 1 controls/,
    );
  });

  it('is HELD only when a control shows the run could see a step', () => {
    expect(verdict([held, controlStepped, controlHeld])).toBe('HELD');
    expect(summary([held, controlStepped, controlHeld])).toContain('1 of 2 controls');
  });

  it('is INCONCLUSIVE when nothing stepped, or no control ran', () => {
    expect(verdict([held, controlHeld])).toBe('INCONCLUSIVE');
    expect(summary([held, controlHeld])).toContain('run longer (--seconds)');
    expect(verdict([held])).toBe('INCONCLUSIVE');
    expect(summary([held])).toContain('no control ran');
  });
});

describe('windowsPerServer', () => {
  it('gives every route the same number of windows, at least two each', () => {
    expect(windowsPerServer(360, 2, 4)).toBe(45);
    expect(windowsPerServer(1, 1, 2)).toBe(6);
    expect(windowsPerServer(360, 2, 4) % 3).toBe(0);
  });
});

describe('the control preload (bench/fixtures/withhold-keep-maps.ts)', () => {
  const script = (setOthers: boolean) => `
import v8 from 'node:v8';
const { keepMapsWhenIdle } = await import('./services/common/src/memory-reducer.ts');
keepMapsWhenIdle();
${setOthers ? "v8.setFlagsFromString('--allow-natives-syntax');" : ''}
let natives = 'refused';
try { natives = String(new Function('return %IsSmi(1)')()); } catch {}
console.log(natives);`;
  const node = (preload: boolean, setOthers: boolean) =>
    run(
      process.execPath,
      [
        ...(preload ? ['--import', './bench/fixtures/withhold-keep-maps.ts'] : []),
        '--input-type=module',
        '-e',
        script(setOthers),
      ],
      { cwd: repoRoot },
    );

  it("withholds the services' option, says so, and passes every other option to V8", async () => {
    const withheld = await node(true, true);
    expect(withheld.stderr).toBe('aging control: withheld --no-memory-reducer-favors-memory\n');
    expect(withheld.stdout).toBe('true\n');
    // Without the other option, V8 refuses the natives syntax: the pass-through is what allowed it.
    expect((await node(true, false)).stdout).toBe('refused\n');
    // Without the preload the service's call reaches V8 and nothing is said.
    expect((await node(false, false)).stderr).toBe('');
  });
});
