import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../base-command.js'
import {deployFlags} from '../../deploy-flags.js'
import {finishDeploy} from '../../deploy.js'
import {takeQuickFailure} from '../../quick-handoff.js'
import {secretValue} from '../../secret-value.js'

export default class SecretSet extends ClientCommand {
  static override description =
    'Set a secret; processes whose target uses it are redeployed. The value comes from VALUE, --from-file, standard input, or a prompt that does not echo it'
  static override aliases = ['s:set', 'secrets:set']
  static override examples = [
    '<%= config.bin %> secret set DATABASE_URL postgres://db/app',
    '<%= config.bin %> secret set TLS_KEY --from-file key.pem',
    'printf %s "$TOKEN" | <%= config.bin %> secret set API_TOKEN',
  ]
  static override args = {
    name: Args.string({description: 'secret name', required: true}),
    // ignoreStdin: oclif would otherwise read a piped value itself, line by line (\r becomes \n).
    value: Args.string({description: 'the value (omit to read --from-file or stdin)', ignoreStdin: true}),
  }
  static override flags = {
    'from-file': Flags.string({description: 'read the value from this file (taken as is)'}),
    json: Flags.boolean({description: 'print the changes (and how the rollout ended) as JSON'}),
    ...deployFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(SecretSet)
    // The quick path (src/cli/quick-secret-set.ts) ran this argv already: report how it failed, as ours.
    const quick = takeQuickFailure()
    if (quick) throw quick.error
    const value = await secretValue(args.name, args.value, flags['from-file'])
    const client = await this.client(flags.auth)
    await finishDeploy(client, await client.setSecret(args.name, value), flags, (line) => this.log(line))
  }
}
