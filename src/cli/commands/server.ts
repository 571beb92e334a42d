import {Flags} from '@oclif/core'
import {LaunchoCommand} from '../base-command.js'
import {takeQuickFailure} from '../quick-handoff.js'
import {runServer} from '../run-server.js'

export default class Server extends LaunchoCommand {
  static override description = 'Run the launcho server: keeps the target running as systemd units and serves the API'

  static override examples = [
    '<%= config.bin %> server',
    '<%= config.bin %> server --state-dir /var/lib/launcho --listen 0.0.0.0:12888',
  ]

  static override flags = {
    'state-dir': Flags.string({description: 'where the target, secrets and keys live [default: /var/lib/launcho]'}),
    listen: Flags.string({description: 'HOST:PORT of the API [default: 0.0.0.0:12888]'}),
    config: Flags.string({description: 'YAML config file (see templates/config.yaml)', env: 'LAUNCHO_CONFIG'}),
    'journal-root': Flags.string({
      description: "root whose journal holds the processes' logs (e.g. a sandbox's /proc/PID/root)",
      env: 'LAUNCHO_JOURNAL_ROOT',
    }),
  }

  async run(): Promise<void> {
    // V8 heap flags (a small semi-space) are set by bin/launcho.js, which re-executes `server` with them.
    const {flags} = await this.parse(Server)
    // The quick path (bin/launcho.js) read this argv as oclif does and already ran the server: its failure is the answer.
    const quick = takeQuickFailure()
    if (quick) throw quick.error
    await runServer({stateDir: flags['state-dir'], listen: flags.listen, config: flags.config, journalRoot: flags['journal-root']})
  }
}
