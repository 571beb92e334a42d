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
    // V8 heap flags (a small semi-space) are set by bin/launcho.js, which re-executes `server` with them.
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
