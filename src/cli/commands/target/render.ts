import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../base-command.js'
import {readTargetFile} from '../../read-target-file.js'

export default class TargetRender extends ClientCommand {
  static override description = `Print each unit as launcho would start it, as unit-file text (secrets shown as \${NAME})
From the current target, or with --file from a target file (validated as \`target diff\` does). The env file is named, with what it holds as written in the target; ports not yet assigned read <port>.`
  static override aliases = ['t:render']
  static override examples = ['<%= config.bin %> t render', '<%= config.bin %> t render web', '<%= config.bin %> t render --file target.yaml']

  static override args = {process: Args.string({description: 'only this process'})}
  static override flags = {
    file: Flags.string({char: 'f', description: 'render this target file (or - for stdin) instead of the current target'}),
    json: Flags.boolean({description: 'print JSON ({units: [{process, unit, replica, text}]})'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TargetRender)
    if (flags.file !== undefined) this.problemFile = flags.file === '-' ? '<stdin>' : flags.file
    const text = flags.file === undefined ? undefined : await readTargetFile(flags.file)
    const client = await this.client(flags.auth)
    const response = await client.renderTarget({...(text !== undefined ? {text} : {}), ...(args.process !== undefined ? {process: args.process} : {})})
    if (flags.json) return this.printJson(response)
    if (response.units.length === 0) return this.log('No processes in the target.')
    process.stdout.write(response.units.map((unit) => unit.text).join('\n'))
  }
}
