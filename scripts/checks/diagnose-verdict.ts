// What every diagnose check returns: a verdict, what was seen, and (when not OK) what to do.
export type Verdict = 'OK' | 'WARN' | 'FAIL';

export interface DiagnosticCheck {
  name: string;
  verdict: Verdict;
  detail: string;
  /** What to do when the verdict is not OK. */
  hint?: string;
}

export const check = (
  name: string,
  verdict: Verdict,
  detail: string,
  hint?: string,
): DiagnosticCheck => ({
  name,
  verdict,
  detail,
  ...(hint && verdict !== 'OK' ? { hint } : {}),
});

/** A check that throws reports FAIL with the error instead of ending the whole diagnosis. */
export async function guarded(
  name: string,
  run: () => Promise<DiagnosticCheck[]>,
): Promise<DiagnosticCheck[]> {
  try {
    return await run();
  } catch (error) {
    const e = error as Error;
    return [
      check(
        name,
        'FAIL',
        `could not check: ${e.name}: ${e.message}`,
        'check credentials, --region and that the stacks exist',
      ),
    ];
  }
}
