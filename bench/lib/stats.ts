// Medians, not means: on a shared machine one disturbed round must not move the figure.
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * The median of per-round ratios: each round's pair ran back to back, so their ratio is what
 * the noise of the machine disturbs least.
 */
export function medianRatio(
  numerators: readonly number[],
  denominators: readonly number[],
): number {
  const ratios = numerators.map((n, i) => n / (denominators[i] ?? Number.NaN));
  return median(ratios);
}
