import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../base-command.js'
import type {ProcessChange} from '../../daemon/changes.js'
import {describeChanges} from '../print-changes.js'

export default class Restart extends ClientCommand {
  static override description =
    "Replace a process's instances with fresh ones, the same way an upgrade does (new started before old stopped)"
  static override examples = ['<%= config.bin %> restart web']
  static override args = {process: Args.string({description: 'process name from the target', required: true})}
  static override flags = {json: Flags.boolean({description: 'print the changes as JSON'})}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Restart)
    const client = await this.client(flags.auth)
    const {changes} = await client.post<{changes: ProcessChange[]}>(`v1/processes/${encodeURIComponent(args.process)}/restart`, {})
    if (flags.json) return this.printJson({changes})
    this.log(describeChanges(changes))
  }
}
