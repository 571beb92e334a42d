/** Writes `launcho export`'s files: unit files 0644, env files (which hold secrets) 0600, each atomically. */
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import type {ExportResponse} from '../protocol/units.js'
import {writeFileAtomic} from '../store/atomic.js'

export async function writeExport(dir: string, response: ExportResponse): Promise<string[]> {
  await mkdir(dir, {recursive: true, mode: 0o700})
  const written: string[] = []
  for (const unit of response.units) {
    for (const [name, text, mode] of [[unit.envFile.name, unit.envFile.text, 0o600], [unit.file, unit.text, 0o644]] as const) {
      if (name.includes('/')) throw new Error(`refusing a file name with a "/": ${JSON.stringify(name)}`)
      await writeFileAtomic(join(dir, name), text, mode)
      written.push(join(dir, name))
    }
  }
  return written
}
