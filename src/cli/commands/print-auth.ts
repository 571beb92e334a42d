import {Flags} from '@oclif/core'
import {LaunchoCommand} from '../base-command.js'

export default class PrintAuth extends LaunchoCommand {
  static override description = 'Print the client auth file for this server (run on the server; save the output on the client)'

  static override examples = ['<%= config.bin %> print-auth --host myhost.example.com:12888 > ~/.launcho/launcho-client-auth.yaml']

  static override flags = {
    'state-dir': Flags.string({description: 'the server state dir', default: '/var/lib/launcho'}),
    host: Flags.string({description: 'HOST:PORT clients use to reach this server [default: the one recorded at first start]'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(PrintAuth)
    const {loadOrCreateServerAuth, clientAuthText} = await import('../../api/server-auth.js')
    const auth = await loadOrCreateServerAuth(flags['state-dir'], flags.host ?? 'localhost:12888')
    process.stdout.write(clientAuthText(auth, flags.host ?? auth.host))
  }
}
