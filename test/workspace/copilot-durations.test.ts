// Copilot's durations (scripts/workspace/copilot-durations.ts): a manifest's duration is a Go
// time.Duration that yaml.v3 fills with time.ParseDuration, and Copilot renders it as whole
// seconds, truncated. Each case is what Go's parser says of the text (src/time/format.go).
import { describe, expect, it } from 'vitest';
import { copilotSeconds, goDurationNs } from '../../scripts/workspace/copilot-durations.ts';

describe("Go's duration syntax", () => {
  it.each<[string, bigint]>([
    ['0', 0n],
    ['+0', 0n],
    ['-0', 0n],
    ['0s', 0n],
    ['10s', 10_000_000_000n],
    ['90s', 90_000_000_000n],
    ['1m30s', 90_000_000_000n],
    ['30s1m', 90_000_000_000n],
    ['1h', 3_600_000_000_000n],
    ['1h2m3s', 3_723_000_000_000n],
    ['500ms', 500_000_000n],
    ['1500ms', 1_500_000_000n],
    ['7us', 7_000n],
    ['7µs', 7_000n],
    ['7μs', 7_000n],
    ['3ns', 3n],
    ['1.5s', 1_500_000_000n],
    ['.5s', 500_000_000n],
    ['1.s', 1_000_000_000n],
    ['4.9s100ms', 5_000_000_000n],
    ['1.0000000005s', 1_000_000_000n],
    ['-5s', -5_000_000_000n],
    ['+5s', 5_000_000_000n],
    ['2562047h47m16.854775807s', 9_223_372_036_854_775_807n],
  ])('reads %j as %d ns', (text, ns) => {
    expect(goDurationNs(text)).toBe(ns);
  });

  it.each([
    '',
    '+',
    '10',
    's',
    '.s',
    '.',
    '10 s',
    ' 10s',
    '10s ',
    '10S',
    '10sec',
    '1d',
    '1.5',
    '--5s',
    '5s-',
    '0.0',
    '2562047h47m16.854775808s',
    '9223372036854775808ns',
    '99999999999999999999s',
  ])('refuses %j, as time.ParseDuration does', (text) => {
    expect(goDurationNs(text)).toBeUndefined();
  });

  it('takes the most negative duration, and nothing below it', () => {
    expect(goDurationNs('-9223372036854775808ns')).toBe(-9_223_372_036_854_775_808n);
    expect(goDurationNs('-9223372036854775809ns')).toBeUndefined();
  });
});

describe('the seconds Copilot renders (int64(d.Seconds()))', () => {
  it.each<[string, number, boolean]>([
    ['10s', 10, true],
    ['1m30s', 90, true],
    ['1h', 3600, true],
    ['500ms', 0, false],
    ['4.9s', 4, false],
    ['59.999s', 59, false],
    ['-4.5s', -4, false],
    ['-4s', -4, true],
    ['0', 0, true],
  ])('renders %j as %d (all of it: %s)', (text, seconds, whole) => {
    expect(copilotSeconds(text)).toEqual({ seconds, whole });
  });

  it('has none for a text that is not a duration', () => {
    expect(copilotSeconds('10')).toBeUndefined();
  });
});

describe('long texts', () => {
  // Go keeps a fraction's digits while their value fits in 2^63 and drops the rest.
  it('reads a fraction of any length, dropping digits past what Go keeps', () => {
    expect(goDurationNs(`0.${'9'.repeat(400)}s`)).toBe(1_000_000_000n);
    expect(goDurationNs(`1.${'0'.repeat(400)}1h`)).toBe(3_600_000_000_000n);
  });

  it('refuses a whole part of any length past 2^63 ns, in any unit', () => {
    expect(goDurationNs(`${'9'.repeat(400)}ns`)).toBeUndefined();
    expect(goDurationNs('2562048h')).toBeUndefined();
    expect(goDurationNs('-2562048h')).toBeUndefined();
    expect(goDurationNs('9223372036854775807ns1ns')).toBeUndefined();
  });
});
