/**
 * The command nearest to the words typed: each command is compared with as many of the first
 * typed words as it has (`t sett x` → `target set`, the rest being arguments).
 */
export function nearestCommand(typed: readonly string[], commands: ReadonlyArray<readonly string[]>): string | undefined {
  let best: {command: string; distance: number} | undefined
  for (const words of commands) {
    const command = words.join(' ')
    const distance = editDistance(typed.slice(0, words.length).join(' '), command)
    if (best === undefined || distance < best.distance) best = {command, distance}
  }
  if (best === undefined) return undefined
  return best.distance <= allowedEdits(best.command) ? best.command : undefined
}

/** A third of the word, at least 2: "stauts" → "status", but "x" suggests nothing. */
const allowedEdits = (word: string) => Math.max(2, Math.floor(word.length / 3))

/** Damerau–Levenshtein (optimal string alignment): a swap of two letters counts as one edit. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({length: a.length + 1}, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, d[i - 2]![j - 2]! + 1)
      d[i]![j] = value
    }
  }
  return d[a.length]![b.length]!
}
