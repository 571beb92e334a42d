/**
 * What `launcho server` does once its flags are read, shared by the command (commands/server.ts)
 * and its quick path (quick-server.ts): load the config, start the daemon, and run until SIGTERM or
 * SIGINT, or until another launcho server takes this systemd (then it rejects with that error).
 */
export interface ServerFlags {
  stateDir?: string
  listen?: string
  config?: string
  journalRoot?: string
}

export async function runServer(flags: ServerFlags): Promise<void> {
  const [{loadConfig}, {createLogger}, {startDaemon}, {SecretRedactor}] = await Promise.all([
    import('../daemon/config.js'),
    import('../daemon/logger.js'),
    import('../daemon/daemon.js'),
    import('../secrets/redact.js'),
  ])
  const config = await loadConfig(flags.config, {stateDir: flags.stateDir, listen: flags.listen, journalRoot: flags.journalRoot})
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
