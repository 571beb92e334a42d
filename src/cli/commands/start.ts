import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../base-command.js'
import {deployFlags} from '../deploy-flags.js'
import {finishDeploy} from '../deploy.js'
import {takeQuickFailure} from '../quick-handoff.js'

export default class Start extends ClientCommand {
  static override description = 'Run a process stopped with launcho stop again'
  static override examples = ['<%= config.bin %> start web']
  static override args = {process: Args.string({description: 'process name from the target', required: true})}
  static override flags = {json: Flags.boolean({description: 'print the changes (and how the rollout ended) as JSON'}), ...deployFlags}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Start)
    // The quick path (src/cli/quick-process-deploy.ts) sent this already: report how it failed, as ours.
    const quick = takeQuickFailure()
    if (quick) throw quick.error
    const client = await this.client(flags.auth)
    await finishDeploy(client, await client.start(args.process), flags, (line) => this.log(line))
  }
}
