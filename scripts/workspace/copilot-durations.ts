// Copilot's durations: `interval`, `timeout` and `grace_period` of a health check and
// `deregistration_delay` are Go time.Duration fields of the manifest (internal/pkg/manifest/svc.go
// HTTPHealthCheckArgs and http.go RoutingRule, v1.33.2). yaml.v3 fills such a field from a string
// with time.ParseDuration and refuses a YAML number (gopkg.in/yaml.v3 v3.0.1, decode.go, the
// version in Copilot's go.mod), and Copilot renders each as int64(d.Seconds()): whole seconds,
// truncated toward zero (internal/pkg/deploy/cloudformation/stack/transformers.go, v1.33.2).

/** Go's units (src/time/format.go, unitMap), in nanoseconds. */
const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 MICRO SIGN
  μs: 1_000n, // U+03BC GREEK SMALL LETTER MU
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const LIMIT = 1n << 63n;

/** One `[0-9]*(\.[0-9]*)?unit` of the text, from `at`. */
const COMPONENT = /(\d*)(?:\.(\d*))?([^\d.]*)/y;

/**
 * Go's leadingFraction: the digits while their value stays within 2^63, and their scale; the
 * rest are read and dropped (Go's two overflow tests come to this one).
 */
function fraction(digits: string): { f: bigint; scale: number } {
  let f = 0n;
  let scale = 1;
  for (const digit of digits) {
    const next = f * 10n + BigInt(digit);
    if (next > LIMIT) break;
    f = next;
    scale *= 10;
  }
  return { f, scale };
}

/** Nanoseconds of one component, or undefined where Go refuses it. */
function component(whole: string, decimals: string | undefined, unit: string): bigint | undefined {
  const unitNs = UNIT_NS[unit];
  if ((whole === '' && !decimals) || unitNs === undefined) return undefined;
  const { f, scale } = fraction(decimals ?? '');
  // Go adds the fraction in floating point: uint64(float64(f) * (float64(unit) / scale)).
  return BigInt(whole) * unitNs + BigInt(Math.trunc(Number(f) * (Number(unitNs) / scale)));
}

/**
 * Nanoseconds of a Go duration ("10s", "1m30s", "1.5h", "500ms", "-5s", "0"), as
 * time.ParseDuration reads it; undefined for a text it refuses. Go tests each step for overflow
 * of its uint64; every step only adds, so testing the total once, exactly, refuses the same texts.
 */
export function goDurationNs(text: string): bigint | undefined {
  const negative = text.startsWith('-');
  const rest = negative || text.startsWith('+') ? text.slice(1) : text;
  if (rest === '0') return 0n;
  if (rest === '') return undefined;
  let total = 0n;
  for (let at = 0; at < rest.length; ) {
    COMPONENT.lastIndex = at;
    const [matched, whole, decimals, unit] = COMPONENT.exec(rest) as RegExpExecArray;
    const ns = component(whole as string, decimals, unit as string);
    if (ns === undefined) return undefined;
    total += ns;
    at += matched.length;
  }
  if (negative) return total > LIMIT ? undefined : -total;
  return total < LIMIT ? total : undefined;
}

/**
 * The whole seconds Copilot renders for a duration, and whether they are all of it ("4.9s"
 * renders as 4); undefined for a text that is none.
 */
export function copilotSeconds(text: string): { seconds: number; whole: boolean } | undefined {
  const ns = goDurationNs(text);
  if (ns === undefined) return undefined;
  // BigInt division truncates toward zero, as Go's int64(float64) conversion does.
  return { seconds: Number(ns / 1_000_000_000n), whole: ns % 1_000_000_000n === 0n };
}
