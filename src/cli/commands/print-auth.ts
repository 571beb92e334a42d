import {Flags} from '@oclif/core'
import {LaunchoCommand} from '../base-command.js'

export default class PrintAuth extends LaunchoCommand {
  static override description =
    'Print the client auth file for this server (run on the server; save the output on the client). It holds the API token: keep it 0600'

  static override examples = [
    '<%= config.bin %> print-auth --host myhost.example.com:12888 --out ~/.launcho/launcho-client-auth.yaml',
    '<%= config.bin %> print-auth --host myhost.example.com:12888 > launcho-client-auth.yaml',
  ]

  static override flags = {
    'state-dir': Flags.string({description: 'the server state dir', default: '/var/lib/launcho'}),
    host: Flags.string({description: 'HOST:PORT clients use to reach this server [default: the one recorded at first start]'}),
    out: Flags.string({description: 'write the file here (atomically, mode 0600) instead of to standard output'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(PrintAuth)
    const [{loadOrCreateServerAuth, clientAuthText}, {writePrivateOutput, writeAtomicPrivate}] = await Promise.all([
      import('../../api/server-auth.js'),
      import('../private-output.js'),
    ])
    const auth = await loadOrCreateServerAuth(flags['state-dir'], flags.host ?? 'localhost:12888')
    const text = clientAuthText(auth, flags.host ?? auth.host)
    if (flags.out !== undefined) return writeAtomicPrivate(flags.out, text)
    const warning = await writePrivateOutput(text)
    if (warning) process.stderr.write(`Warning: ${warning}\n`)
  }
}
