import {spawn} from 'node:child_process'
import {Flags} from '@oclif/core'
import {LaunchoCommand} from '../base-command.js'

export default class Demo extends LaunchoCommand {
  static override description =
    'Run the whole launcho flow inside a private sandbox systemd: server, deploy, status, HTTP, kill -9 recovery, server restart, replace'

  static override flags = {
    keep: Flags.boolean({description: 'keep the demo directory (state, logs) afterwards'}),
    inside: Flags.boolean({hidden: true, description: 'already inside the sandbox network'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Demo)
    if (flags.inside) {
      const {runDemo} = await import('../../demo/demo.js')
      await runDemo({keep: flags.keep, say: (line) => this.log(line)})
      return
    }
    // Re-run inside the sandbox's network so the server, the app and curl share its loopback.
    const child = spawn(process.execPath, [process.argv[1]!, 'sandbox', '--', process.execPath, process.argv[1]!, 'demo', '--inside', ...(flags.keep ? ['--keep'] : [])], {
      stdio: 'inherit',
    })
    const code = await new Promise<number>((resolve) => child.on('exit', (status) => resolve(status ?? 1)))
    this.exit(code)
  }
}
