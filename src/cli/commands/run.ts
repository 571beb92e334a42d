import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../base-command.js'
import {parseDuration} from '../duration.js'
import {table, outputWidth} from '../format.js'
import {printRunItems, type RunStop} from '../run-output.js'
import {handleClosedStdout} from '../closed-stdout.js'

export default class Run extends ClientCommand {
  static override description =
    "Run a one-off command in a process's environment (its user, env with secrets, credentials, limits, sandbox, resources in a fresh working directory, its `before` first) as a unit of its own, launcho-run-<process>-<id>.service; or a named command of the target, with any extra arguments appended. Its stdout and stderr come here live and separate, and its exit status is this command's (a signal: 128+n)"

  static override examples = [
    "<%= config.bin %> run web -- sh -c 'echo $DB_URL'",
    '<%= config.bin %> run web -- pg_dump mydb > dump.sql',
    '<%= config.bin %> run web --timeout 10m --detach -- ./reindex',
    '<%= config.bin %> run migrate',
    '<%= config.bin %> run migrate -- --dry-run',
    '<%= config.bin %> run --list',
  ]

  static override strict = false

  static override args = {
    name: Args.string({description: 'a process of the target (then -- COMMAND [ARGS…]), or a named command (then -- EXTRA ARGS…)'}),
  }

  static override flags = {
    list: Flags.boolean({description: 'list the named commands of the target'}),
    json: Flags.boolean({description: 'with --list: print JSON'}),
    detach: Flags.boolean({description: 'start it and return: print its unit; its output goes to the journal (journalctl -u UNIT -f)'}),
    timeout: Flags.string({description: 'stop it after this long (its `before` included), e.g. 30s, 10m; it then exits 124'}),
    'no-before': Flags.boolean({description: "do not run the process's `before` first"}),
    command: Flags.boolean({description: 'take NAME as a named command even if a process has that name (a process wins otherwise)'}),
  }

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(Run)
    const client = await this.client(flags.auth)
    if (flags.list) {
      const {commands} = await client.commands()
      if (flags.json) return this.printJson({commands})
      if (commands.length === 0) return this.log('No named commands. Add them to the target as commands: {migrate: {process: web, command: [...]}}.')
      const rows = commands.map((command) => [command.name, command.process, command.command.map(shellWord).join(' ')])
      return this.log(table(['NAME', 'PROCESS', 'COMMAND'], rows, {width: outputWidth(), shrink: [2]}))
    }
    if (args.name === undefined) this.error('name a process (launcho run web -- COMMAND) or a named command (launcho run --list)', {exit: 2})
    const rest = (argv as string[]).slice(1)
    const timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout, '--timeout')
    const body = {
      name: args.name,
      argv: rest,
      ...(flags.command ? {asCommand: true} : {}),
      ...(flags['no-before'] ? {noBefore: true} : {}),
      ...(timeoutMs ? {timeoutMs} : {}),
      ...(flags.detach ? {detach: true} : {}),
    }
    const stop = runStop()
    try {
      const code = await printRunItems(client.run(body, stop.signal), {stop, timeout: flags.timeout})
      if (code !== 0) this.exit(code)
    } finally {
      stop.dispose()
    }
  }
}

/** Ctrl-C and SIGTERM end the run (the server stops its unit when the request goes); so does a closed stdout. */
function runStop(): RunStop & {dispose(): void} {
  const abort = new AbortController()
  const stop: RunStop & {dispose(): void} = {
    signal: abort.signal,
    exitCode: 0,
    dispose() {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
      process.stdout.off('error', onPipe)
      release()
    },
  }
  const end = (code: number) => {
    stop.exitCode ||= code
    abort.abort()
  }
  const onInt = () => end(130)
  const onTerm = () => end(143)
  const onPipe = () => end(141)
  process.once('SIGINT', onInt)
  process.once('SIGTERM', onTerm)
  process.stdout.once('error', onPipe)
  const release = handleClosedStdout()
  return stop
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./${}-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}
