/**
 * What the deploy quick paths (quick-set.ts, quick-secret-set.ts) share once their argv is taken:
 * read the input, connect, send the change, and follow its rollout with deploy.ts, as the command
 * does. Any failure from the first read on is handed to the command (quick-handoff.ts).
 */
import type {ChangesResponse} from '../protocol/changes.js'
import {loadClientAuth, resolveClientAuthPath} from './client-auth.js'
import {ApiClient} from './client.js'
import {finishDeploy} from './deploy.js'
import {handOver} from './quick-handoff.js'

export interface QuickDeployFlags {
  detach: boolean
  json: boolean
  timeout?: string
  auth?: string
}

/** True once the change was sent and followed; false (having printed no error) to leave it to oclif. */
export async function quickDeploy<T>(flags: QuickDeployFlags, read: () => Promise<T>, send: (client: ApiClient, input: T) => Promise<ChangesResponse>): Promise<boolean> {
  let client: ApiClient | undefined
  try {
    const input = await read()
    client = new ApiClient(await loadClientAuth(resolveClientAuthPath(flags.auth)))
    const response = await send(client, input)
    await finishDeploy(client, response, {json: flags.json, detach: flags.detach, ...(flags.timeout !== undefined ? {timeout: flags.timeout} : {})}, (line) => {
      process.stdout.write(`${line}\n`)
    })
    return true
  } catch (error) {
    handOver(error)
    return false
  } finally {
    client?.transport.close()
  }
}
