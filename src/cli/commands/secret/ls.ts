import {Flags} from '@oclif/core'
import {ClientCommand} from '../../base-command.js'

export default class SecretLs extends ClientCommand {
  static override description = 'List secret names (never values)'
  static override aliases = ['s:ls', 'secrets:ls']
  static override flags = {json: Flags.boolean({description: 'print JSON'})}

  async run(): Promise<void> {
    const {flags} = await this.parse(SecretLs)
    const {names} = await (await this.client(flags.auth)).secretNames()
    if (flags.json) return this.printJson({names})
    this.log(names.length > 0 ? names.join('\n') : 'No secrets. Set one with: launcho secret set NAME VALUE')
  }
}
