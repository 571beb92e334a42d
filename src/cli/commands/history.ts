import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../base-command.js'
import {localTime, outputWidth, table} from '../format.js'
import {describeRelease, outcomeText} from '../release-text.js'

export default class History extends ClientCommand {
  static override description = 'List the releases, newest first: when, what changed and how the rollout ended; with a number, one release in full'
  static override examples = ['<%= config.bin %> history', '<%= config.bin %> history 12', '<%= config.bin %> history --json']
  static override args = {release: Args.integer({description: 'a release number: show it in full (target, secret names, resources)', min: 1})}
  static override flags = {json: Flags.boolean({description: 'print JSON'})}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(History)
    const client = await this.client(flags.auth)
    if (args.release !== undefined) {
      const release = await client.release(args.release)
      if (flags.json) return this.printJson(release)
      return this.log(describeRelease(release))
    }
    const history = await client.history()
    if (flags.json) return this.printJson(history)
    if (history.releases.length === 0) return this.log('No releases yet. Each t set, secret set/rm, restart, rollback, stop and start that changes what runs makes one.')
    const rows = history.releases.map((release) => [
      String(release.number),
      localTime(release.time),
      release.rollbackOf !== undefined ? `rollback to ${release.rollbackOf}` : release.kind,
      release.changes.filter((line) => !line.startsWith('rollback to release ')).join('; ') || '-',
      outcomeText(release.outcome),
    ])
    this.log(table(['RELEASE', 'TIME', 'KIND', 'CHANGES', 'OUTCOME'], rows, {width: outputWidth(), shrink: [3, 4]}))
  }
}
