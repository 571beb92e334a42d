import {Flags} from '@oclif/core'
import {ClientCommand} from '../../base-command.js'

export default class TargetGet extends ClientCommand {
  static override description = 'Print the current target exactly as it was set (placeholders kept)'
  static override aliases = ['t:get']

  static override flags = {json: Flags.boolean({description: 'print JSON ({text, isDefault})'})}

  async run(): Promise<void> {
    const {flags} = await this.parse(TargetGet)
    const client = await this.client(flags.auth)
    const target = await client.getTarget()
    if (flags.json) return this.printJson(target)
    process.stdout.write(target.text)
  }
}
