import {Args, Flags} from '@oclif/core'
import {LaunchoError} from '../../../errors.js'
import {ClientCommand} from '../../base-command.js'
import {describeChanges} from '../../print-changes.js'
import {readTargetFile} from '../../read-target-file.js'

export default class TargetDiff extends ClientCommand {
  static override description = 'Show what `target set FILE` (or `rollback N`, with --release N) would start, replace, adopt and stop, without doing it'
  static override aliases = ['t:diff']
  static override examples = ['<%= config.bin %> t diff target.yaml', '<%= config.bin %> t diff --release 11']

  static override args = {file: Args.string({description: 'target YAML file, or - for stdin'})}
  static override flags = {
    json: Flags.boolean({description: 'print the changes as JSON'}),
    release: Flags.integer({description: 'what going back to this release (launcho rollback N) would do', min: 1}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TargetDiff)
    if ((args.file === undefined) === (flags.release === undefined)) {
      throw new LaunchoError('invalid_request', args.file === undefined ? 'give a target file, or --release N' : 'give a target file or --release N, not both', {
        hint: 'launcho t diff target.yaml, or launcho t diff --release 11',
      })
    }
    const client = await this.client(flags.auth)
    let changes
    if (flags.release !== undefined) changes = (await client.diffRelease(flags.release)).changes
    else {
      this.problemFile = args.file === '-' ? '<stdin>' : args.file
      changes = (await client.diffTarget(await readTargetFile(args.file!))).changes
    }
    if (flags.json) return this.printJson({changes})
    this.log(describeChanges(changes))
  }
}
