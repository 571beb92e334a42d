import {once} from 'node:events'
import {constants} from 'node:os'
import {Args} from '@oclif/core'
import {ClientCommand} from '../../base-command.js'
import {LaunchoError} from '../../../errors.js'
import {Hasher, saveVerified} from '../../../store/resource-file.js'
import type {ResourceInfo} from '../../../protocol/resources.js'
import type {ApiClient} from '../../client.js'
import {TransferProgress} from '../../transfer-progress.js'

export default class ResourceDown extends ClientCommand {
  static override description = 'Download a resource to OUT ("-" for standard output); OUT appears only once its SHA-256 checks out'
  static override aliases = ['r:down', 'resources:down']
  static override examples = ['<%= config.bin %> resource down 3f9a1c2e bundle.tar.bz2', '<%= config.bin %> resource down 3f9a1c2e - | tar -xj']
  static override args = {
    id: Args.string({description: 'resource id, or a unique prefix of at least 8 hex digits', required: true}),
    out: Args.string({description: 'output file, or "-" for standard output', required: true}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ResourceDown)
    const client = await this.client(flags.auth)
    const info = await client.resource(args.id)
    if (args.out !== '-') {
      await this.saveToFile(client, info, args.out)
      this.log(`${info.id} (${info.size} bytes) saved to ${args.out}`)
      return
    }
    const content = new TransferProgress('downloading', info.size).counted(client.resourceContent(info.id))
    const hasher = new Hasher()
    for await (const chunk of content) {
      hasher.update(chunk)
      if (!process.stdout.write(chunk)) await once(process.stdout, 'drain')
    }
    const {sha256} = hasher.result()
    if (sha256 !== info.id) {
      throw new LaunchoError('internal', `the data written to standard output has SHA-256 ${sha256}, not ${info.id}`, {hint: 'discard it and retry'})
    }
  }

  /**
   * Ctrl-C, SIGTERM or a closed terminal (SIGHUP) stop the transfer instead of killing the
   * process, so that saveVerified can delete its temp file (as it does on any failure); then exit
   * 128 + the signal's number, as the signal would have.
   */
  private async saveToFile(client: ApiClient, info: ResourceInfo, out: string): Promise<void> {
    const stop = new AbortController()
    let interruptedBy: NodeJS.Signals | undefined
    const interrupt = (signal: NodeJS.Signals) => {
      interruptedBy ??= signal
      stop.abort()
    }
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
    for (const signal of signals) process.on(signal, interrupt)
    try {
      await saveVerified(new TransferProgress('downloading', info.size).counted(client.resourceContent(info.id, stop.signal)), out, info.id)
    } catch (error) {
      if (interruptedBy === undefined) throw error
      process.stderr.write(`Interrupted: the download stopped and nothing was written to ${out}.\n`)
      this.exit(128 + constants.signals[interruptedBy])
    } finally {
      for (const signal of signals) process.off(signal, interrupt)
    }
  }
}
