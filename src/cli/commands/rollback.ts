import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../base-command.js'
import {deployFlags} from '../deploy-flags.js'
import {finishDeploy} from '../deploy.js'
import {takeQuickFailure} from '../quick-handoff.js'

export default class Rollback extends ClientCommand {
  static override description =
    "Go back to a release: its target, the values its secrets had and its resources, rolled out like any change (new started before old stopped) and recorded as a new release. Without a number: the newest release before the latest that ended serving"
  static override examples = ['<%= config.bin %> rollback', '<%= config.bin %> rollback 11', '<%= config.bin %> t diff --release 11']
  static override args = {release: Args.integer({description: 'the release to go back to (launcho history lists them)', min: 1})}
  static override flags = {json: Flags.boolean({description: 'print the changes (and how the rollout ended) as JSON'}), ...deployFlags}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Rollback)
    // The quick path (src/cli/quick-process-deploy.ts) sent this already: report how it failed, as ours.
    const quick = takeQuickFailure()
    if (quick) throw quick.error
    const client = await this.client(flags.auth)
    await finishDeploy(client, await client.rollback(args.release), flags, (line) => this.log(line))
  }
}
