/**
 * What every client command shares: `--auth` and `--json` flags, a lazily built API client, and
 * one way of printing errors: as text (the message, each problem on its own line, then what to do
 * next), or with `--json` as one JSON object on stderr. Exit codes: 2 when the request itself is
 * wrong (an invalid target, an unknown process, a bad flag), 1 for everything else.
 */
import {Command, Errors, Flags} from '@oclif/core'
import {type ErrorCode, LaunchoError, formatProblem} from '../errors.js'
import type {ApiClient} from './client.js'
import {DeployInterrupted} from './deploy.js'

/** The request's own fault: fixing the command line or the file fixes it. */
const BAD_REQUEST: ReadonlySet<ErrorCode> = new Set(['invalid_target', 'invalid_request', 'missing_secret', 'not_found', 'conflict', 'payload_too_large'])

export function exitCodeOf(code: ErrorCode): 1 | 2 {
  return BAD_REQUEST.has(code) ? 2 : 1
}

export abstract class LaunchoCommand extends Command {
  /** File name used to prefix line/column problems (set by commands that send a file). */
  protected problemFile?: string

  protected override async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    // Said on stderr when it happened (deploy.ts).
    if (error instanceof DeployInterrupted) return this.exit(130)
    const json = this.argv.includes('--json')
    if (!(error instanceof LaunchoError)) {
      // oclif's own (an unknown flag, a missing argument) and ExitError from this.exit.
      if (!json || error instanceof Errors.ExitError || !(error instanceof Errors.CLIError)) return super.catch(error)
      process.stderr.write(`${JSON.stringify({error: {code: 'invalid_request', message: stripAnsi(error.message)}})}\n`)
      return this.exit(2)
    }
    // Line numbers refer to the file the command sent only when the server judged that file.
    const file = ['invalid_target', 'missing_secret'].includes(error.code) ? this.problemFile : undefined
    if (json) {
      const problems = error.problems.map((problem) => ({...problem, ...(file ? {file} : {})}))
      const body = {code: error.code, message: error.message, ...(error.hint ? {hint: error.hint} : {}), ...(problems.length ? {problems} : {})}
      process.stderr.write(`${JSON.stringify({error: body})}\n`)
    } else {
      const lines = [error.message, ...error.problems.map((problem) => `  ${formatProblem(problem, file)}`)]
      if (error.hint) lines.push(`Hint: ${error.hint}`)
      process.stderr.write(`Error: ${lines.join('\n')}\n`)
    }
    return this.exit(exitCodeOf(error.code))
  }
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '')

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
