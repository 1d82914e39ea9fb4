// An ALB health check's success codes: the target group's Matcher HttpCode, which Copilot
// renders from `success_codes` as written (workloads/partials/cf/alb.yml, v1.33.2; no check in
// validate.go). ELB takes codes from 200 to 499, "multiple values (for example, "200,202") or a
// range of values (for example, "200-299")" (ELB API reference, Matcher); a mix of the two is
// documented nowhere, so it is refused here rather than risked on a deploy.

const FORMS = 'expected HTTP codes like 200, 200,202 or a range like 200-299';
const OUTSIDE = "expected codes from 200 to 499: an ALB's health check takes no other";

/** The codes a success-code text matches, in order, or why ELB would refuse the text. */
export function parseHttpCode(text: string): { codes: number[] } | { error: string } {
  const parts = text.split(',');
  if (!parts.every((part) => /^\d{3}(?:-\d{3})?$/.test(part))) return { error: FORMS };
  if (parts.length > 1 && parts.some((part) => part.includes('-'))) {
    return {
      error:
        'expected a list of codes (200,202) or one range (200-299): ELB documents no mix of the two',
    };
  }
  const [low, high = low] = (parts[0] as string).split('-').map(Number) as [number, number?];
  const listed = parts.length > 1 ? parts.map(Number) : [low, high];
  if (listed.some((code) => code < 200 || code > 499)) return { error: OUTSIDE };
  if (high < low) return { error: 'expected a range from the lower code to the higher (200-299)' };
  const codes =
    parts.length > 1 ? listed : Array.from({ length: high - low + 1 }, (_, i) => low + i);
  return { codes: [...new Set(codes)].sort((a, b) => a - b) };
}

/** Codes as a reader takes them in: runs of three or more as a range ("200-299, 404"). */
export function describeCodes(codes: readonly number[], separator = ', '): string {
  const sorted = [...new Set(codes)].sort((a, b) => a - b);
  const runs: number[][] = [];
  for (const code of sorted) {
    const run = runs.at(-1);
    if (run !== undefined && run.at(-1) === code - 1) run.push(code);
    else runs.push([code]);
  }
  return runs
    .flatMap((run) => (run.length >= 3 ? [`${run[0]}-${run.at(-1)}`] : run.map(String)))
    .join(separator);
}
