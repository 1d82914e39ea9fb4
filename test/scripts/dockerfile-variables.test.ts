// Docker's variable substitution as the Dockerfile lint reads a FROM or USER: the forms and
// their meaning as BuildKit gives them (moby/buildkit frontend/dockerfile/shell/lex.go).
import { describe, expect, it } from 'vitest';
import { expandVariables, type Lookup } from '../../scripts/checks/dockerfile-variables.ts';

const values: Record<string, string | null> = { NODE: '24', EMPTY: '', NONE: null };
const lookup: Lookup = (name) => values[name];
const expand = (text: string) => expandVariables(text, lookup);

describe('expandVariables', () => {
  it.each([
    ['node:$NODE-alpine', 'node:24-alpine'],
    ['node:${NODE}-alpine', 'node:24-alpine'],
    ['${NODE}${NODE}', '2424'],
    ['node:24-alpine', 'node:24-alpine'],
    ['a\\$NODE', 'a$NODE'],
    ['$NODE_x', ''],
  ])('reads %s as %s', (text, value) => {
    expect(expand(text).text).toBe(value);
  });

  it.each([
    // `-`: the word when unset; with the colon, when set to nothing too.
    ['${NODE:-22}', '24'],
    ['${EMPTY:-22}', '22'],
    ['${EMPTY-22}', ''],
    ['${NONE-22}', '22'],
    ['${NOPE:-22}', '22'],
    ['${NOPE-22}', '22'],
    // `+`: the word when set; with the colon, only when set to something.
    ['${NODE:+x}', 'x'],
    ['${EMPTY:+x}', ''],
    ['${EMPTY+x}', 'x'],
    ['${NONE+x}', ''],
    ['${NOPE:+x}', ''],
  ])('reads %s as %s', (text, value) => {
    const expansion = expand(text);
    expect(expansion).toEqual({ text: value, undeclared: [], unknown: [] });
  });

  it('names a variable used with no default that nothing declares, and reads it as empty', () => {
    expect(expand('node:${NOPE}-alpine $ALSO')).toEqual({
      text: 'node:-alpine ',
      undeclared: ['NOPE', 'ALSO'],
      unknown: [],
    });
  });

  it('reads a variable declared with no value as empty, without naming it', () => {
    expect(expand('node:${NONE}-alpine')).toEqual({
      text: 'node:-alpine',
      undeclared: [],
      unknown: [],
    });
  });

  it.each(['${NODE#2}', '${NODE/2/3}', '${NODE:?}', '${}'])(
    'reports %s as a form it does not read, leaving it as written',
    (form) => {
      expect(expand(`node:${form}-alpine`)).toEqual({
        text: `node:${form}-alpine`,
        undeclared: [],
        unknown: [form],
      });
    },
  );
});
