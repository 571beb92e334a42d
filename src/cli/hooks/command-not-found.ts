/**
 * What the CLI does with a command it does not know: refused with exit 2 and the nearest command
 * as a suggestion, spelled the way a user types it (`target set`, never oclif's `target:set`).
 */
import type {Hook} from '@oclif/core'
import {nearestCommand} from '../suggest.js'

const hook: Hook.CommandNotFound = async function (options) {
  const typed = options.id.split(':')
  const known = this.config.commands.filter((command) => !command.hidden).map((command) => command.id.split(':'))
  const suggestion = nearestCommand(typed, known)
  const lines = [`Error: "${typed.join(' ')}" is not a ${this.config.bin} command.`]
  if (suggestion !== undefined) lines.push(`Did you mean "${this.config.bin} ${suggestion}"?`)
  lines.push(`Run "${this.config.bin} help" for the list of commands.`)
  process.stderr.write(`${lines.join('\n')}\n`)
  this.exit(2)
}

export default hook
