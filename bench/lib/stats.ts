/** Small numeric helpers for the benchmarks' summaries. */

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** `median 412 ms (min 380, max 455; n=5)`, or `no samples`. */
export function summary(values: number[], unit = 'ms', digits = 0): string {
  if (values.length === 0) return 'no samples'
  const f = (v: number) => v.toFixed(digits)
  return `median ${f(median(values))}${unit ? ` ${unit}` : ''} (min ${f(Math.min(...values))}, max ${f(Math.max(...values))}; n=${values.length})`
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
