import {Flags} from '@oclif/core'
import {ClientCommand} from '../base-command.js'
import {followEvents} from '../follow-rollout.js'
import {eventLine} from '../rollout-views.js'
import {EVENT_LOG_CAPACITY} from '../../protocol/events.js'
import {streamStop} from '../stream-stop.js'

export default class Events extends ClientCommand {
  static override description = "Show the server's recent events (starts, health, rollouts, failures), oldest first; with -f, each new one as it happens"

  static override examples = ['<%= config.bin %> events', '<%= config.bin %> events -f', '<%= config.bin %> events -n 100 --json']

  static override flags = {
    follow: Flags.boolean({char: 'f', description: 'keep printing new events until interrupted (Ctrl-C); reconnects by itself'}),
    lines: Flags.integer({char: 'n', description: 'show the last N events', default: 20, min: 0, max: EVENT_LOG_CAPACITY}),
    json: Flags.boolean({description: 'print one JSON object per line (NDJSON): seq, time, kind, process, message, repeated'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Events)
    const client = await this.client(flags.auth)
    const print = (event: Parameters<typeof eventLine>[0]) => process.stdout.write(`${flags.json ? JSON.stringify(event) : eventLine(event)}\n`)
    let last = 0
    let count = 0
    for await (const event of client.events({limit: flags.lines})) {
      print(event)
      last = event.seq
      count++
    }
    if (!flags.follow) {
      if (count === 0 && !flags.json) process.stderr.write('No events yet.\n')
      return
    }
    // The past came first; the follow starts after the last event shown (or now, with -n 0).
    if (count === 0) last = (await client.status({events: 1})).events.at(-1)?.seq ?? 0
    const stop = streamStop()
    try {
      let lost = false
      const onLost = (error: unknown) => {
        if (!lost) process.stderr.write(`Lost the event stream${error instanceof Error ? ` (${error.message})` : ''}; reconnecting…\n`)
        lost = true
      }
      await followEvents(client, last, stop.signal, (event) => ((lost = false), print(event)), onLost)
    } finally {
      stop.dispose()
    }
  }
}
