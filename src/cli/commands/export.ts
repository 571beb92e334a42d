import {resolve} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../base-command.js'

export default class Export extends ClientCommand {
  static override description = `Write plain systemd unit files (and their env files, 0600) that run the current processes without launcho
One launcho-<process>[-<replica>].service per running instance, with its ports as assigned now and an [Install] section; each file's header says how to install it.`
  static override examples = ['<%= config.bin %> export --dir ./units', '<%= config.bin %> export web --dir /root/web-units --env-dir /etc/launcho-export']

  static override args = {process: Args.string({description: 'only this process'})}
  static override flags = {
    dir: Flags.string({char: 'd', description: 'directory to write the files to (created 0700 if missing)', required: true}),
    'env-dir': Flags.string({description: 'where the unit files expect their env files (default: the --dir directory)'}),
    json: Flags.boolean({description: 'print what was written as JSON'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Export)
    const dir = resolve(flags.dir)
    const client = await this.client(flags.auth)
    const response = await client.exportUnits({envDir: resolve(flags['env-dir'] ?? dir), ...(args.process !== undefined ? {process: args.process} : {})})
    const {writeExport} = await import('../export-files.js')
    const written = await writeExport(dir, response)
    if (flags.json) return this.printJson({dir, written, skipped: response.skipped})
    for (const file of written) this.log(`wrote ${file}`)
    for (const skip of response.skipped) this.warn(`${skip.instance}: not exported: ${skip.reason}`)
    if (written.length === 0) this.log('Nothing to export.')
  }
}
