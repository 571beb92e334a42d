import {setFlagsFromString} from 'node:v8'
import {Flags} from '@oclif/core'
import {LaunchoCommand} from '../base-command.js'

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
    // Node 24's V8 lets the young generation grow far more than Node 20's: while streaming a big
    // resource the server then keeps ~80 MB more of dead 1 MiB chunks' wrappers (and so their
    // buffers) alive between scavenges: peak RSS 206 MiB for a 1 GiB round trip, 203 MiB with a
    // 16 MB semi-space, 180–205 MiB with 8 MB (load-dependent). A control plane's
    // allocation rate is small; more frequent scavenges cost it nothing measurable.
    setFlagsFromString('--max-semi-space-size=8')
    const {flags} = await this.parse(Server)
    const [{loadConfig}, {createLogger}, {startDaemon}, {SecretRedactor}] = await Promise.all([
      import('../../daemon/config.js'),
      import('../../daemon/logger.js'),
      import('../../daemon/daemon.js'),
      import('../../secrets/redact.js'),
    ])
    const config = await loadConfig(flags.config, {
      stateDir: flags['state-dir'],
      listen: flags.listen,
      journalRoot: flags['journal-root'],
    })
    const redactor = new SecretRedactor()
    const logger = createLogger(undefined, (line) => redactor.redactJson(line))
    const daemon = await startDaemon(config, logger, redactor)
    const failure = await new Promise<Error | undefined>((resolve) => {
      const shutdown = (signal: string) => {
        logger.info({signal}, 'shutting down')
        daemon.stop().finally(() => resolve(undefined))
      }
      process.once('SIGTERM', () => shutdown('SIGTERM'))
      process.once('SIGINT', () => shutdown('SIGINT'))
      void daemon.failed.then((error) => {
        logger.error({err: error.message}, 'stopping: this systemd is now driven by another launcho server')
        daemon.stop().finally(() => resolve(error))
      })
    })
    if (failure) throw failure
  }
}
