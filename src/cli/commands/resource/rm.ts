import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../base-command.js'

export default class ResourceRm extends ClientCommand {
  static override description = 'Remove resources (refused while a process of the target uses them)'
  static override aliases = ['r:rm', 'resources:rm']
  static override strict = false
  static override args = {id: Args.string({description: 'resource ids, or unique prefixes of at least 8 hex digits', required: true})}
  static override flags = {json: Flags.boolean({description: 'print the removed ids as JSON'})}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(ResourceRm)
    const client = await this.client(flags.auth)
    const removed: string[] = []
    for (const id of argv as string[]) {
      removed.push((await client.removeResource(id)).removed)
      if (!flags.json) this.log(`removed ${removed.at(-1)}`)
    }
    if (flags.json) this.printJson({removed})
  }
}
