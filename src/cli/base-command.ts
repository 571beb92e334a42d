/**
 * What every client command shares: `--auth` and `--json` flags, a lazily built API client, and
 * one way of printing errors (the message, each problem on its own line, then what to do next).
 */
import {Command, Flags} from '@oclif/core'
import {LaunchoError, formatProblem} from '../errors.js'
import type {ApiClient} from './client.js'

/** Prints LaunchoErrors as the message, each problem on its own line, then what to do next. */
export abstract class LaunchoCommand extends Command {
  /** File name used to prefix line/column problems (set by commands that send a file). */
  protected problemFile?: string

  protected override async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    if (!(error instanceof LaunchoError)) return super.catch(error)
    // Line numbers refer to the file the command sent only when the server judged that file.
    const file = ['invalid_target', 'missing_secret'].includes(error.code) ? this.problemFile : undefined
    const lines = [error.message, ...error.problems.map((problem) => `  ${formatProblem(problem, file)}`)]
    if (error.hint) lines.push(`Hint: ${error.hint}`)
    process.stderr.write(`Error: ${lines.join('\n')}\n`)
    // A bad request, or a target refused for what it says: the input must change, not the server.
    this.exit(['invalid_request', 'invalid_target', 'missing_secret'].includes(error.code) ? 2 : 1)
  }
}

export abstract class ClientCommand extends LaunchoCommand {
  static override baseFlags = {
    auth: Flags.string({
      description: 'client auth file (default: $LAUNCHO_AUTH, else ~/.launcho/launcho-client-auth.yaml)',
      helpGroup: 'GLOBAL',
    }),
  }

  protected async client(authFlag?: string): Promise<ApiClient> {
    const [{ApiClient}, {loadClientAuth, resolveClientAuthPath}] = await Promise.all([
      import('./client.js'),
      import('./client-auth.js'),
    ])
    return new ApiClient(await loadClientAuth(resolveClientAuthPath(authFlag)))
  }

  protected printJson(value: unknown): void {
    this.log(JSON.stringify(value, null, 2))
  }
}
