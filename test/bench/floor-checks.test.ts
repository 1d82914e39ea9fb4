// The floor's three sets of checks (zod, zod/mini, by hand) are the same rules: each input gets
// the same verdict and, when accepted, the same data, so `node bench/startup-floors.ts` compares
// start-ups of the same work. The inputs are the rules' edges (bench/fixtures/floor-checks.ts,
// after book-service's catalog-routes.ts).
import { describe, expect, it } from 'vitest';
import type { FloorChecks } from '../../bench/fixtures/floor-app.ts';
import { checks as zod } from '../../bench/fixtures/floor-checks.ts';
import { checks as byHand } from '../../bench/fixtures/floor-checks-hand.ts';
import { checks as mini } from '../../bench/fixtures/floor-checks-mini.ts';
import { MAX_ID } from '../../services/common/src/input-rules.ts';

const others: [string, FloorChecks][] = [
  ['zod/mini', mini],
  ['by hand', byHand],
];

const ids = ['1', '3', '0', '00', '0001', String(MAX_ID), String(MAX_ID + 1), '9'.repeat(30)];
const badIds = ['', '-1', '1.5', '1e3', ' 1', '1 ', 'abc', '0x10', '١'];
const pages: Record<string, string>[] = [
  {},
  { limit: '4' },
  { limit: '1' },
  { limit: '100' },
  { limit: '004' },
  { offset: '0' },
  { offset: '999999999' },
  { limit: '4', offset: '1' },
  { other: 'x' },
  { limit: '0' },
  { limit: '101' },
  { limit: '1000' },
  { limit: '' },
  { limit: '-1' },
  { offset: '1234567890' },
  { offset: 'x' },
  { offset: '' },
  { limit: '4', offset: '-1' },
];

/** The verdict and data without the message: the sets word their refusals differently. */
const verdict = (result: { success: boolean; data?: unknown }) =>
  result.success ? { success: true, data: result.data } : { success: false };

describe.each(others)('the floor checks %s against zod', (_name, checks) => {
  it.each([...ids, ...badIds, undefined])('Id %j', (id) => {
    expect(verdict(checks.Id.safeParse(id))).toEqual(verdict(zod.Id.safeParse(id)));
  });

  it.each(pages)('Page %j', (query) => {
    expect(verdict(checks.Page.safeParse(query))).toEqual(verdict(zod.Page.safeParse(query)));
  });

  it('accept and refuse where zod does, on these inputs', () => {
    const accepted = [...ids, ...badIds].filter((id) => zod.Id.safeParse(id).success);
    expect(accepted).toEqual(['1', '3', '0001', String(MAX_ID)]);
    expect(pages.filter((q) => zod.Page.safeParse(q).success)).toHaveLength(9);
  });
});
