import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../base-command.js'
import {deployFlags} from '../../deploy-flags.js'
import {finishDeploy} from '../../deploy.js'
import {takeQuickFailure} from '../../quick-handoff.js'
import {readTargetFile} from '../../read-target-file.js'

export default class TargetSet extends ClientCommand {
  static override description = 'Set the target from a YAML file; launcho then starts, replaces and stops processes to match'
  static override aliases = ['t:set']
  static override examples = ['<%= config.bin %> t set target.yaml', '<%= config.bin %> t set target.yaml --detach', '<%= config.bin %> t get | sed … | <%= config.bin %> t set -']

  static override args = {file: Args.string({description: 'target YAML file, or - for stdin', required: true})}
  static override flags = {
    json: Flags.boolean({description: 'print the changes (and how the rollout ended) as JSON'}),
    'allow-empty': Flags.boolean({description: 'accept a target without processes, which stops every process (refused otherwise)'}),
    ...deployFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TargetSet)
    this.problemFile = args.file === '-' ? '<stdin>' : args.file
    // The quick path (src/cli/quick-set.ts) ran this argv already: report how it failed, as ours.
    const quick = takeQuickFailure()
    if (quick) throw quick.error
    const text = await readTargetFile(args.file)
    const client = await this.client(flags.auth)
    await finishDeploy(client, await client.setTarget(text, {allowEmpty: flags['allow-empty']}), flags, (line) => this.log(line))
  }
}
