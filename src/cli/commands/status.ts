import {Flags} from '@oclif/core'
import {ClientCommand} from '../base-command.js'
import type {ApiClient} from '../client.js'
import {outputWidth, useColour} from '../format.js'
import {takeQuickFailure} from '../quick-handoff.js'
import {renderStatus, statusText} from '../status-view.js'
import {streamStop} from '../stream-stop.js'
import {DEFAULT_STATUS_EVENTS, MAX_STATUS_EVENTS, statusQuery} from '../status-query.js'

export default class Status extends ClientCommand {
  static override description = 'Show every process: version, unit, state, PID, restarts, uptime, memory, CPU time, tasks, last failure; then recent events'
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status -w', '<%= config.bin %> status --json']

  static override flags = {
    json: Flags.boolean({description: 'print JSON'}),
    events: Flags.integer({description: 'how many recent events to show', default: DEFAULT_STATUS_EVENTS, min: 0, max: MAX_STATUS_EVENTS}),
    watch: Flags.boolean({char: 'w', description: 'draw it again on every event until interrupted (Ctrl-C); with --json one status per line'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Status)
    if (flags.watch) return this.watch(await this.client(flags.auth), flags)
    // The quick path (bin/launcho.js) read this argv as oclif does and already asked: its failure is the answer.
    const quick = takeQuickFailure()
    if (quick) throw quick.error
    const report = await (await this.client(flags.auth)).status(statusQuery(flags))
    this.log(statusText(report, Boolean(flags.json)))
  }

  private async watch(client: ApiClient, flags: {events: number; json?: boolean}): Promise<void> {
    const {watchStatus} = await import('../watch-status.js')
    const stop = streamStop()
    try {
      await watchStatus(client, {
        events: flags.events,
        json: Boolean(flags.json),
        terminal: Boolean(process.stdout.isTTY),
        render: (report) => renderStatus(report, {width: outputWidth(), colour: useColour()}),
        write: (text) => process.stdout.write(text),
        signal: stop.signal,
      })
    } finally {
      stop.dispose()
    }
  }
}
