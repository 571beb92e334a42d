/**
 * `memoryMax` sizes as systemd writes them: a number and a binary unit ("256M" = 256 MiB). A bare
 * number is refused rather than read as bytes: "memoryMax: 512" almost always means megabytes.
 */
const UNITS = {K: 1024n, M: 1024n ** 2n, G: 1024n ** 3n, T: 1024n ** 4n} as const
const SIZE = /^(\d+)(?:\.(\d{1,3}))?([KMGT])$/
/** Below this a process rarely gets as far as its first line of code. */
export const MIN_MEMORY_MAX = 4n * UNITS.M
/**
 * 1 PiB: far above any host's RAM, far below the uint64 byte count of MemoryMax= (16 EiB, whose
 * top value means "no limit"), so a typo like 99999999999T cannot overflow it.
 */
export const MAX_MEMORY_MAX = 1024n * UNITS.T

/** Bytes, or undefined when `text` is not a size like "256M" or "1.5G". */
export function memorySizeBytes(text: string): bigint | undefined {
  const match = SIZE.exec(text)
  if (!match) return undefined
  const [, whole, fraction = '', unit] = match
  const scale = UNITS[unit as keyof typeof UNITS]
  const thousandths = BigInt(whole!) * 1000n + BigInt(fraction.padEnd(3, '0'))
  return (thousandths * scale) / 1000n
}

export function memorySizeProblem(text: string, what = 'memoryMax'): string | undefined {
  const bytes = memorySizeBytes(text)
  if (bytes === undefined) {
    return /^\d+$/.test(text)
      ? `${what} needs a unit: write "${text}M" for ${text} MiB (K, M, G and T are powers of 1024)`
      : `${what} must be a size like "256M" or "1.5G" (K, M, G and T are powers of 1024)`
  }
  if (bytes < MIN_MEMORY_MAX) return `${what} must be at least 4M`
  if (bytes > MAX_MEMORY_MAX) return `${what} must be at most 1024T (1 PiB); leave it out for no limit`
  return undefined
}
