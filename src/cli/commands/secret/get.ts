import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../base-command.js'

export default class SecretGet extends ClientCommand {
  static override description = 'Print the values of secrets (one per line, in the order asked)'
  static override aliases = ['s:get', 'secrets:get']
  static override strict = false
  static override args = {name: Args.string({description: 'secret names', required: true})}
  static override flags = {json: Flags.boolean({description: 'print JSON ({NAME: value})'})}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(SecretGet)
    const client = await this.client(flags.auth)
    const values: Record<string, string> = {}
    for (const name of argv as string[]) {
      values[name] = (await client.secret(name)).value
    }
    if (flags.json) return this.printJson(values)
    for (const value of Object.values(values)) this.log(value)
  }
}
