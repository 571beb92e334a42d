import {Flags} from '@oclif/core'
import {ClientCommand} from '../../base-command.js'
import {localTime, outputWidth, table} from '../../format.js'

export default class ResourceLs extends ClientCommand {
  static override description = 'List resources, newest first, with the processes of the target that use them'
  static override aliases = ['r:ls', 'resources:ls']
  static override flags = {json: Flags.boolean({description: 'print JSON (full ids, sizes in bytes)'})}

  async run(): Promise<void> {
    const {flags} = await this.parse(ResourceLs)
    const {resources} = await (await this.client(flags.auth)).resources()
    if (flags.json) return this.printJson({resources})
    if (resources.length === 0) return this.log('No resources. Upload one with: launcho resource up FILE')
    const rows = resources.map((r) => [r.id.slice(0, 12), r.name || '-', humanSize(r.size), localTime(r.uploadedAt), r.usedBy.join(', ') || '-'])
    this.log(table(['ID', 'NAME', 'SIZE', 'UPLOADED', 'USED BY'], rows, {width: outputWidth(), shrink: [4, 1]}))
  }
}

function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`
}
