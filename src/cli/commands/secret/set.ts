import {readFile} from 'node:fs/promises'
import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../base-command.js'
import {LaunchoError} from '../../../errors.js'
import {deployFlags} from '../../deploy-flags.js'
import {finishDeploy} from '../../deploy.js'
import {decodeUtf8} from '../../utf8.js'

const BINARY_HINT = 'secret values are text; encode binary data first, e.g. "base64 -w0 FILE | launcho secret set NAME"'

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
    const value = await this.value(args.name, args.value, flags['from-file'])
    const client = await this.client(flags.auth)
    await finishDeploy(client, await client.setSecret(args.name, value), flags, (line) => this.log(line))
  }

  private async value(name: string, arg: string | undefined, file: string | undefined): Promise<string> {
    if (arg !== undefined && file !== undefined) {
      throw new LaunchoError('invalid_request', 'give the value either as an argument or with --from-file, not both')
    }
    if (arg !== undefined) return arg
    if (file !== undefined) return decodeUtf8(await readFile(file), file, BINARY_HINT)
    if (process.stdin.isTTY) {
      const {readHidden} = await import('../../hidden-input.js')
      return readHidden(`Value of ${name} (not shown): `)
    }
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return decodeUtf8(Buffer.concat(chunks), 'standard input', BINARY_HINT)
  }
}
