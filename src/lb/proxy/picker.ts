/**
 * Smooth weighted round robin (nginx's): over any window of sum(weights) picks, each backend is
 * picked exactly `weight` times, interleaved rather than in bursts. Weight 0 (draining) is never
 * picked.
 *
 * The proxy's worker threads each pick for the connections they accept, so the position in the
 * rotation is a counter in shared memory (one per service, handed to every worker): the picks of
 * all workers together follow one rotation, as a single picker's would.
 */
import {backendKey} from './config.js'

export interface Target {
  host: string
  port: number
  weight: number
  /** `host:port` */
  key: string
}

/** Longest rotation kept; beyond it weights are scaled down (only hand-made tables get there). */
const MAX_CYCLE = 1 << 16

/** The shared counter: a SharedArrayBuffer of 4 bytes, or a private one for a single picker. */
export function newSequence(): SharedArrayBuffer {
  return new SharedArrayBuffer(4)
}

export class WeightedPicker {
  private readonly targets: Target[]
  /** One rotation: the index of the target for each position. */
  private readonly cycle: Uint32Array
  private readonly sequence: Uint32Array

  constructor(backends: Array<{host: string; port: number; weight: number}>, sequence: SharedArrayBuffer = newSequence()) {
    this.targets = backends.filter((b) => b.weight > 0).map((b) => ({...b, key: backendKey(b)}))
    this.cycle = rotation(this.targets.map((t) => t.weight))
    this.sequence = new Uint32Array(sequence)
  }

  get size(): number {
    return this.targets.length
  }

  /**
   * Up to `attempts` distinct backends to try, in order: the next weighted pick, then the backends
   * after it. Only the first advances the rotation, so retries do not skew the weights.
   */
  candidates(attempts: number): Target[] {
    if (this.targets.length === 0) return []
    const first = this.cycle[Atomics.add(this.sequence, 0, 1) % this.cycle.length]!
    const rotated = [...this.targets.slice(first), ...this.targets.slice(0, first)]
    return rotated.slice(0, Math.min(attempts, rotated.length))
  }
}

/** The smooth weighted round robin's picks over one full rotation (after which it repeats). */
function rotation(weights: number[]): Uint32Array {
  const divisor = weights.reduce(gcd, 0) || 1
  let reduced = weights.map((w) => w / divisor)
  let total = reduced.reduce((sum, w) => sum + w, 0)
  if (total > MAX_CYCLE) {
    reduced = reduced.map((w) => Math.max(1, Math.floor((w * MAX_CYCLE) / total)))
    total = reduced.reduce((sum, w) => sum + w, 0)
  }
  const cycle = new Uint32Array(total)
  const current = reduced.map(() => 0)
  for (let position = 0; position < total; position++) {
    let best = 0
    for (let i = 0; i < reduced.length; i++) {
      current[i]! += reduced[i]!
      if (current[i]! > current[best]!) best = i
    }
    current[best]! -= total
    cycle[position] = best
  }
  return cycle
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b]
  return a
}
