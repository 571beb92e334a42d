import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../base-command.js'
import {printLogStream} from '../../logs/log-printer.js'
import {DEFAULT_LINES, MAX_LINES} from '../../logs/logs-request.js'
import {streamStop} from '../stream-stop.js'

export default class Logs extends ClientCommand {
  static override description =
    "Show log lines, oldest first: a process's current version, or with -f every version of it as they come (a rollout does not end the follow); without PROCESS, every process's, each line marked with its process"

  static override examples = [
    '<%= config.bin %> logs web',
    '<%= config.bin %> logs web -f',
    '<%= config.bin %> logs -f',
    "<%= config.bin %> logs web --since '10 min ago' --all-versions",
    '<%= config.bin %> logs web -n 1000 --json',
  ]

  static override args = {
    process: Args.string({description: 'process name, as in the target (default: every process)'}),
  }

  static override flags = {
    follow: Flags.boolean({char: 'f', description: 'keep printing new lines, of every version, until interrupted (Ctrl-C)'}),
    lines: Flags.integer({char: 'n', description: 'show the last N lines', default: DEFAULT_LINES, min: 0, max: MAX_LINES}),
    since: Flags.string({description: "only lines since TIME, as journalctl --since takes it: '10 min ago', '2026-11-22 10:00', 'yesterday'"}),
    'all-versions': Flags.boolean({description: 'include the lines of replaced versions (always so with --follow or without PROCESS)'}),
    json: Flags.boolean({description: 'print one JSON object per line (NDJSON): time, process, version, unit, pid, message, priority'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Logs)
    const client = await this.client(flags.auth)
    const stop = streamStop()
    try {
      const query = {lines: flags.lines, follow: flags.follow, allVersions: flags['all-versions'], ...(flags.since ? {since: flags.since} : {})}
      const chunks = client.logs(args.process, query, stop.signal)
      const printed = await printLogStream(chunks, process.stdout, {json: flags.json, signal: stop.signal})
      if (printed === 0 && !flags.json && !flags.follow) {
        if (args.process === undefined) process.stderr.write('No log lines of any process.\n')
        else {
          const scope = flags['all-versions'] ? '' : ' of its current version (add --all-versions for replaced ones)'
          process.stderr.write(`No log lines for ${args.process}${scope}.\n`)
        }
      }
    } catch (error) {
      if (!stop.signal.aborted) throw error
    } finally {
      stop.dispose()
    }
  }
}
