// A template value as CloudFormation reads it for an Integer or Boolean property
// (scripts/workspace/cfn-value.ts): what a YAML patch or override writes as a string.
import { describe, expect, it } from 'vitest';
import { cfnBoolean, cfnInteger, readValue } from '../../scripts/workspace/cfn-value.ts';

describe('an Integer property', () => {
  it.each<[unknown, number | undefined]>([
    [40, 40],
    [0, 0],
    ['40', 40],
    ['0', 0],
    ['-5', -5],
    [undefined, undefined],
  ])('reads %j as %j', (value, read) => {
    expect(cfnInteger(value)).toStrictEqual({ value: read });
  });

  // [40] and null are no scalar an override's schema takes, yet [40]'s text would pass a pattern.
  it.each(['forty', '', ' 40', '40 ', '4.5', '1e2', '0x10', true, 4.5, [40], null])(
    'does not read %j as an integer',
    (value) => {
      expect(cfnInteger(value)).toStrictEqual({ unread: value });
    },
  );
});

describe('a Boolean property', () => {
  it.each<[unknown, boolean | undefined]>([
    [true, true],
    [false, false],
    ['true', true],
    ['false', false],
    [undefined, undefined],
  ])('reads %j as %j', (value, read) => {
    expect(cfnBoolean(value)).toStrictEqual({ value: read });
  });

  it.each(['TRUE', 'yes', 1, ''])('does not read %j as a boolean', (value) => {
    expect(cfnBoolean(value)).toStrictEqual({ unread: value });
  });
});

describe('a reading', () => {
  it('holds its value, and an unread one as none', () => {
    expect(readValue(cfnInteger('40'))).toBe(40);
    expect(readValue(cfnBoolean('true'))).toBe(true);
    expect(readValue(cfnInteger('forty'))).toBeUndefined();
  });
});
