import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../base-command.js'
import {deployFlags} from '../../deploy-flags.js'
import {finishDeploy} from '../../deploy.js'
import type {ChangesResponse, ProcessChange} from '../../../protocol/changes.js'

export default class SecretRm extends ClientCommand {
  static override description = 'Remove secrets (refused while the target uses them)'
  static override aliases = ['s:rm', 'secrets:rm']
  static override strict = false
  static override args = {name: Args.string({description: 'secret names', required: true})}
  static override flags = {json: Flags.boolean({description: 'print the changes (and how the rollout ended) as JSON'}), ...deployFlags}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(SecretRm)
    const client = await this.client(flags.auth)
    // One call per name: a process changed by several is followed to the version of the last.
    const byProcess = new Map<string, ProcessChange>()
    let eventSeq: number | undefined
    for (const name of argv as string[]) {
      const response = await client.removeSecret(name)
      eventSeq ??= response.eventSeq
      for (const change of response.changes) {
        if (change.change !== 'unchanged' || !byProcess.has(change.process)) byProcess.set(change.process, change)
      }
    }
    const merged: ChangesResponse = {changes: [...byProcess.values()], eventSeq: eventSeq ?? 0}
    await finishDeploy(client, merged, flags, (line) => this.log(line))
  }
}
