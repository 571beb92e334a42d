import {spawn} from 'node:child_process'
import {Args, Flags} from '@oclif/core'
import {LaunchoCommand} from '../base-command.js'
import {LaunchoError} from '../../errors.js'

export default class SandboxCommand extends LaunchoCommand {
  static override description = `Run COMMAND (or, with --shell, a shell) next to a private, real systemd (for machines where systemd is not PID 1)
The sandbox boots systemd with a minimal unit set in new PID, mount and network namespaces; COMMAND runs with the host's filesystem inside the sandbox's network, with DBUS_SYSTEM_BUS_ADDRESS and LAUNCHO_JOURNAL_ROOT pointing at the sandbox, and with launcho, systemctl and journalctl on PATH aimed at the sandbox (launcho is this CLI, so it works from a clone). Everything is torn down when COMMAND ends or on Ctrl-C. Needs root.`

  static override examples = [
    '<%= config.bin %> sandbox --shell',
    "<%= config.bin %> sandbox -- sh -c 'launcho server --state-dir /var/tmp/launcho-state --listen 127.0.0.1:12888 & sleep 2; systemctl list-units'",
    '<%= config.bin %> sandbox -- launcho --version',
  ]

  static override strict = false
  static override args = {command: Args.string({description: 'the command to run, after --'})}
  static override flags = {
    log: Flags.string({description: "file for the sandbox systemd's own console output"}),
    shell: Flags.boolean({description: 'run an interactive shell ($SHELL, else bash) instead of COMMAND'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(SandboxCommand)
    const command = flags.shell ? [process.env.SHELL || 'bash'] : (argv as string[])
    if (command.length === 0) {
      throw new LaunchoError('invalid_request', 'no command given', {hint: 'launcho sandbox -- COMMAND…, or launcho sandbox --shell'})
    }
    const [{startSandbox}, {writeSandboxTools}] = await Promise.all([import('../../sandbox/sandbox.js'), import('../../sandbox/sandbox-tools.js')])
    const sandbox = await startSandbox({logFile: flags.log})
    const tools = await writeSandboxTools(sandbox.pid1)
    const [bin, ...rest] = [...sandbox.inNetwork(), ...command]
    const child = spawn(bin!, rest, {
      stdio: 'inherit',
      env: {
        ...process.env,
        ...sandbox.env,
        PATH: `${tools.dir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        LAUNCHO_JOURNAL_ROOT: sandbox.journalRoot,
        LAUNCHO_SANDBOX_PID1: String(sandbox.pid1),
      },
    })
    const forward = (signal: NodeJS.Signals) => child.kill(signal)
    process.on('SIGINT', forward)
    process.on('SIGTERM', forward)
    const code = await new Promise<number>((resolve) => {
      child.on('error', (error) => {
        process.stderr.write(`Error: cannot run ${command[0]}: ${error.message}\n`)
        resolve(127)
      })
      child.on('exit', (status, signal) => resolve(status ?? (signal ? 128 + 2 : 1)))
    })
    await sandbox.stop()
    await tools.remove()
    this.exit(code)
  }
}
