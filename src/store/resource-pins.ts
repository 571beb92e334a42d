/**
 * The full id each resource prefix of the current target resolved to when it was set, so that a
 * later upload sharing the prefix changes nothing that runs, across server restarts too. One 0600
 * JSON file written atomically, `{"<prefix>": "<full id>"}`; without a file (tests) it lives in
 * memory only. A damaged file is ignored: the prefixes are then resolved again.
 */
import {readFileIfExists, writeFileAtomic} from './atomic.js'
import {isResourceId} from './resource-id.js'
import {byCodeUnits} from '../text-order.js'

export type Pins = ReadonlyMap<string, string>

export class ResourcePins {
  private pins: Pins = new Map()

  constructor(private readonly file?: string) {}

  async load(): Promise<void> {
    if (!this.file) return
    const text = await readFileIfExists(this.file)
    this.pins = parsePins(text)
  }

  snapshot(): Pins {
    return this.pins
  }

  /** Writes `pins` unless they are what is stored already. */
  async save(pins: Pins): Promise<void> {
    if (samePins(pins, this.pins)) return
    if (this.file) {
      const sorted = Object.fromEntries([...pins].sort(([a], [b]) => byCodeUnits(a, b)))
      await writeFileAtomic(this.file, `${JSON.stringify(sorted, null, 2)}\n`, 0o600)
    }
    this.pins = new Map(pins)
  }
}

/** Both sets of pins: what a crash between writing the target and the new pins can need. */
export function unionOfPins(a: Pins, b: Pins): Pins {
  return new Map([...a, ...b])
}

function samePins(a: Pins, b: Pins): boolean {
  return a.size === b.size && [...a].every(([prefix, id]) => b.get(prefix) === id)
}

function parsePins(text: string | undefined): Pins {
  if (text === undefined) return new Map()
  try {
    const value = JSON.parse(text) as unknown
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return new Map()
    return new Map(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && isResourceId(entry[1]) && entry[1].startsWith(entry[0])))
  } catch {
    return new Map()
  }
}
