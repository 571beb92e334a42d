import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../base-command.js'
import type {ProcessChange} from '../../../daemon/changes.js'
import {describeChanges} from '../../print-changes.js'

export default class SecretRm extends ClientCommand {
  static override description = 'Remove secrets (refused while the target uses them)'
  static override aliases = ['s:rm', 'secrets:rm']
  static override strict = false
  static override args = {name: Args.string({description: 'secret names', required: true})}
  static override flags = {json: Flags.boolean({description: 'print the changes as JSON'})}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(SecretRm)
    const client = await this.client(flags.auth)
    const changes: ProcessChange[] = []
    for (const name of argv as string[]) {
      changes.push(...(await client.delete<{changes: ProcessChange[]}>(`v1/secrets/${encodeURIComponent(name)}`)).changes)
    }
    if (flags.json) return this.printJson({changes})
    this.log(describeChanges(changes))
  }
}
