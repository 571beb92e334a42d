/**
 * Secret values, kept in one 0600 JSON file written atomically. Values never leave this module
 * except through `snapshot()` (for substitution) and `get()` (for `launcho secret get`).
 */
import {LaunchoError} from '../errors.js'
import {readFileIfExists, writeFileAtomic} from './atomic.js'
import {byCodeUnits} from '../text-order.js'

export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/
export const MAX_SECRET_BYTES = 1024 * 1024

export function assertSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new LaunchoError('invalid_request', `invalid secret name ${JSON.stringify(name.slice(0, 140))}`, {
      hint: 'secret names are letters, digits and "_", not starting with a digit (at most 128), e.g. DATABASE_URL',
    })
  }
}

export class SecretStore {
  private values = new Map<string, string>()

  constructor(private readonly file: string) {}

  async load(): Promise<void> {
    const text = await readFileIfExists(this.file)
    if (text === undefined) return
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (error) {
      throw new LaunchoError('storage_failed', `${this.file} is not valid JSON`, {
        hint: 'restore it from a backup; launcho writes it atomically, so this is damage from outside',
        cause: error,
      })
    }
    this.values = new Map(Object.entries(parsed as Record<string, string>).filter(([, v]) => typeof v === 'string'))
  }

  names(): string[] {
    return [...this.values.keys()].sort()
  }

  has(name: string): boolean {
    return this.values.has(name)
  }

  get(name: string): string | undefined {
    return this.values.get(name)
  }

  snapshot(): ReadonlyMap<string, string> {
    return new Map(this.values)
  }

  /** The map as it would be after `changes` (undefined = removed), without storing anything. */
  preview(changes: Record<string, string | undefined>): Map<string, string> {
    const next = new Map(this.values)
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined) next.delete(name)
      else next.set(name, value)
    }
    return next
  }

  /** Persists `next` atomically, then makes it current. On failure nothing changes. */
  async replace(next: Map<string, string>): Promise<void> {
    const sorted = Object.fromEntries([...next.entries()].sort(([a], [b]) => byCodeUnits(a, b)))
    await writeFileAtomic(this.file, `${JSON.stringify(sorted, null, 2)}\n`, 0o600)
    this.values = next
  }
}
