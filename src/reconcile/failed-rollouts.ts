/**
 * The reconciler's failed rollouts (process → the version that failed), told of every change so
 * that they can be kept across a restart of the server (store/failed-rollout-store.ts).
 */
import type {FailedRollout} from './context.js'

export class FailedRollouts extends Map<string, FailedRollout> {
  private onChange?: (current: FailedRollouts) => void

  /** `restored`: what the last server left; `onChange`: called after each change. */
  static of(restored: Iterable<[string, FailedRollout]> = [], onChange?: (current: FailedRollouts) => void): FailedRollouts {
    const failed = new FailedRollouts()
    for (const [name, entry] of restored) failed.set(name, entry)
    failed.onChange = onChange
    return failed
  }

  override set(name: string, failed: FailedRollout): this {
    super.set(name, failed)
    this.onChange?.(this)
    return this
  }

  override delete(name: string): boolean {
    const deleted = super.delete(name)
    if (deleted) this.onChange?.(this)
    return deleted
  }

  override clear(): void {
    const had = this.size > 0
    super.clear()
    if (had) this.onChange?.(this)
  }
}
