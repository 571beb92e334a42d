import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../base-command.js'
import {deployFlags} from '../deploy-flags.js'
import {finishDeploy} from '../deploy.js'
import {takeQuickFailure} from '../quick-handoff.js'

export default class Restart extends ClientCommand {
  static override description =
    "Replace a process's instances with fresh ones, the same way an upgrade does (new started before old stopped)"
  static override examples = ['<%= config.bin %> restart web']
  static override args = {process: Args.string({description: 'process name from the target', required: true})}
  static override flags = {json: Flags.boolean({description: 'print the changes (and how the rollout ended) as JSON'}), ...deployFlags}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Restart)
    // The quick path (src/cli/quick-process-deploy.ts) sent this already: report how it failed, as ours.
    const quick = takeQuickFailure()
    if (quick) throw quick.error
    const client = await this.client(flags.auth)
    await finishDeploy(client, await client.restart(args.process), flags, (line) => this.log(line))
  }
}
