import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../base-command.js'
import {describeChanges} from '../../print-changes.js'
import {readTargetFile} from '../../read-target-file.js'

export default class TargetDiff extends ClientCommand {
  static override description = 'Show what `target set FILE` would start, replace and stop, without doing it'
  static override aliases = ['t:diff']

  static override args = {file: Args.string({description: 'target YAML file, or - for stdin', required: true})}
  static override flags = {json: Flags.boolean({description: 'print the changes as JSON'})}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TargetDiff)
    this.problemFile = args.file === '-' ? '<stdin>' : args.file
    const text = await readTargetFile(args.file)
    const client = await this.client(flags.auth)
    const {changes} = await client.diffTarget(text)
    if (flags.json) return this.printJson({changes})
    this.log(describeChanges(changes))
  }
}
