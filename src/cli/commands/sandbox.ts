import {spawn} from 'node:child_process'
import {Args, Flags} from '@oclif/core'
import {LaunchoCommand} from '../base-command.js'

export default class SandboxCommand extends LaunchoCommand {
  static override description = `Run COMMAND next to a private, real systemd (for machines where systemd is not PID 1)
The sandbox boots systemd with a minimal unit set in new PID, mount and network namespaces; COMMAND runs with the host's filesystem inside the sandbox's network, with DBUS_SYSTEM_BUS_ADDRESS and LAUNCHO_JOURNAL_ROOT pointing at the sandbox. Everything is torn down when COMMAND ends or on Ctrl-C. Needs root.`

  static override examples = [
    '<%= config.bin %> sandbox -- <%= config.bin %> server --state-dir /var/tmp/launcho-state --listen 127.0.0.1:12888',
    '<%= config.bin %> sandbox -- bash',
  ]

  static override strict = false
  static override args = {command: Args.string({description: 'the command to run, after --', required: true})}
  static override flags = {
    log: Flags.string({description: "file for the sandbox systemd's own console output"}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(SandboxCommand)
    const {startSandbox} = await import('../../sandbox/sandbox.js')
    const sandbox = await startSandbox({logFile: flags.log})
    const [bin, ...rest] = [...sandbox.inNetwork(), ...(argv as string[])]
    const child = spawn(bin!, rest, {
      stdio: 'inherit',
      env: {...process.env, ...sandbox.env, LAUNCHO_JOURNAL_ROOT: sandbox.journalRoot, LAUNCHO_SANDBOX_PID1: String(sandbox.pid1)},
    })
    const forward = (signal: NodeJS.Signals) => child.kill(signal)
    process.on('SIGINT', forward)
    process.on('SIGTERM', forward)
    const code = await new Promise<number>((resolve) => {
      child.on('error', (error) => {
        process.stderr.write(`Error: cannot run ${argv[0]}: ${error.message}\n`)
        resolve(127)
      })
      child.on('exit', (status, signal) => resolve(status ?? (signal ? 128 + 2 : 1)))
    })
    await sandbox.stop()
    this.exit(code)
  }
}
