/**
 * Keeps an instance's commands through `systemctl daemon-reload` (which every package upgrade
 * that ships a unit runs). systemd 252 writes a transient unit's ExecStart*Ex= properties into
 * its file under /run/systemd/transient by their D-Bus names, which its own unit-file parser does
 * not know: after a reload the unit has no command at all ("bad-setting"), and systemd can no
 * longer restart it when it dies. Plain ExecStart= is no way out: 252 writes `$` and `;` there as
 * `\$` and `\;` and reads them back with the backslash, changing the argv.
 *
 * So next to each unit's transient file launcho writes a drop-in holding the same commands in
 * unit-file syntax (`ExecStart=:…`, unit-file.ts, which 252 reads exactly). systemd reads drop-ins
 * of a running unit only at a reload: that is when it replaces the lost lines with these. A drop-in
 * systemd has read is removed by systemd with the unit; the others go with launcho's sweep of what
 * stopped instances leave (reconciler.ts).
 */
import {readdir, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {makeDir, writeFileAtomic} from '../store/atomic.js'
import {directiveLines} from './unit-file.js'
import type {DbusProperties} from './unit-spec.js'

const FILE = '50-launcho-commands.conf'
const COMMAND_PROPERTIES = new Set(['ExecStartPreEx', 'ExecStartEx', 'ExecStartPostEx', 'ExecStopEx', 'ExecStopPostEx'])

/** The drop-in's text for a unit started with `properties`; undefined when it has no Ex commands. */
export function commandsDropInText(properties: DbusProperties): string | undefined {
  const lines: string[] = []
  for (const [property, variant] of properties) {
    if (!COMMAND_PROPERTIES.has(property)) continue
    const {lines: directives} = directiveLines(property, variant.signature, variant.value)
    const name = directives[0]!.slice(0, directives[0]!.indexOf('='))
    // The reset keeps a later systemd, which writes these lines readably, from running each twice.
    lines.push(`${name}=`, ...directives)
  }
  if (lines.length === 0) return undefined
  return ['# launcho: this unit\'s commands, read by systemd at a daemon-reload (systemd 252 cannot read back its own ExecStart*Ex= lines)', '[Service]', ...lines, ''].join('\n')
}

export class CommandDropIns {
  /** `root`: the filesystem root of the systemd launcho drives ("/", or a sandbox's /proc/PID/root). */
  constructor(root = '/') {
    this.transientDir = join(root, 'run/systemd/transient')
  }

  readonly transientDir: string

  dirOf(unit: string): string {
    return join(this.transientDir, `${unit}.d`)
  }

  async write(unit: string, properties: DbusProperties): Promise<void> {
    const text = commandsDropInText(properties)
    if (text === undefined) return
    const dir = this.dirOf(unit)
    await makeDir(dir, 0o755)
    await writeFileAtomic(join(dir, FILE), text, 0o600, {durable: false})
  }

  async remove(unit: string): Promise<void> {
    await rm(this.dirOf(unit), {recursive: true, force: true})
  }

  /** Units that have a drop-in directory here whose name `accept` takes. */
  async units(accept: (unit: string) => boolean): Promise<string[]> {
    const entries = await readdir(this.transientDir).catch(() => [] as string[])
    return entries.filter((entry) => entry.endsWith('.service.d')).map((entry) => entry.slice(0, -'.d'.length)).filter(accept)
  }
}
