/**
 * Smooth weighted round robin (nginx's): over any window of sum(weights) picks, each backend is
 * picked exactly `weight` times, interleaved rather than in bursts. Weight 0 (draining) is never
 * picked.
 */
import {backendKey} from './config.js'

export interface Target {
  host: string
  port: number
  weight: number
  /** `host:port` */
  key: string
}

export class WeightedPicker {
  private readonly targets: Target[]
  private readonly current: number[]
  private readonly total: number

  constructor(backends: Array<{host: string; port: number; weight: number}>) {
    this.targets = backends.filter((b) => b.weight > 0).map((b) => ({...b, key: backendKey(b)}))
    this.current = this.targets.map(() => 0)
    this.total = this.targets.reduce((sum, t) => sum + t.weight, 0)
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
    const first = this.next()
    const rotated = [...this.targets.slice(first), ...this.targets.slice(0, first)]
    return rotated.slice(0, Math.min(attempts, rotated.length))
  }

  /** Index of the next weighted pick. */
  private next(): number {
    let best = 0
    for (let i = 0; i < this.targets.length; i++) {
      this.current[i]! += this.targets[i]!.weight
      if (this.current[i]! > this.current[best]!) best = i
    }
    this.current[best]! -= this.total
    return best
  }
}
