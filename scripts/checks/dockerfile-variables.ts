// Docker's substitution of variables in a Dockerfile instruction's text, as the lint needs it to
// read a FROM or USER the way the build will (Dockerfile reference, "Environment replacement":
// `$name`, `${name}`, `${name:-word}`, `${name:+word}`; `\$` is a literal `$`), as BuildKit does
// it (moby/buildkit frontend/dockerfile/shell/lex.go, processDollar): `-` and `+` work without
// the colon too, and with it a variable set to nothing counts as unset; an ARG declared with no
// value and given none is unset. Its other forms (`${name#pattern}`, `${name/a/b}`, `${name?}`)
// are reported, not guessed.

/** A variable's value where it is used: null when declared with no value, undefined when not declared. */
export type Lookup = (name: string) => string | null | undefined;

export interface Expansion {
  text: string;
  /** Variables used with no default that nothing declares (Docker reads them as empty). */
  undeclared: string[];
  /** `${...}` forms this reading does not know. */
  unknown: string[];
}

const NAME = '[A-Za-z_][A-Za-z0-9_]*';
const REFERENCE = new RegExp(
  `\\\\\\$|\\$(?:\\{(${NAME})(?:(:?)([-+])([^}]*))?\\}|(${NAME}))|\\$\\{[^}]*\\}`,
  'g',
);

export function expandVariables(text: string, lookup: Lookup): Expansion {
  const undeclared: string[] = [];
  const unknown: string[] = [];
  const expanded = text.replace(
    REFERENCE,
    (whole, braced?: string, colon?: string, modifier?: string, word?: string, bare?: string) => {
      if (whole === '\\$') return '$';
      const name = braced ?? bare;
      if (name === undefined) {
        unknown.push(whole);
        return whole;
      }
      const value = lookup(name);
      const set = value !== undefined && value !== null && (colon === '' || value !== '');
      if (modifier === '-') return set ? value : (word ?? '');
      if (modifier === '+') return set ? (word ?? '') : '';
      if (value === undefined) undeclared.push(name);
      return value ?? '';
    },
  );
  return { text: expanded, undeclared, unknown };
}
