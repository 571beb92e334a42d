import {spawnSync} from 'node:child_process'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline/promises'
import {Flags} from '@oclif/core'
import {ClientCommand} from '../../base-command.js'
import {LaunchoError} from '../../../errors.js'
import {deployFlags} from '../../deploy-flags.js'
import {finishDeploy} from '../../deploy.js'

export default class TargetEdit extends ClientCommand {
  static override description =
    'Open the current target in $EDITOR and set it on save; a rejected edit says why and offers the file back'
  static override aliases = ['t:edit']
  static override flags = {json: Flags.boolean({description: 'print the changes (and how the rollout ended) as JSON'}), ...deployFlags}

  async run(): Promise<void> {
    const {flags} = await this.parse(TargetEdit)
    const client = await this.client(flags.auth)
    const {text: original} = await client.getTarget()
    const dir = await mkdtemp(join(tmpdir(), 'launcho-edit-'))
    const file = join(dir, 'target.yaml')
    this.problemFile = file
    await writeFile(file, original, {mode: 0o600})
    for (;;) {
      openEditor(file)
      const edited = await readFile(file, 'utf8')
      if (edited === original) {
        await rm(dir, {recursive: true, force: true})
        this.log('No changes.')
        return
      }
      let response
      try {
        response = await client.setTarget(edited)
      } catch (error) {
        if (!(error instanceof LaunchoError) || !['invalid_target', 'missing_secret'].includes(error.code)) throw error
        await this.report(error)
        if (!(await askAgain())) {
          throw new LaunchoError(error.code, `the target was not changed; your edit is kept in ${file}`, {
            hint: `fix it and run: launcho t set ${file}`,
          })
        }
        continue
      }
      await rm(dir, {recursive: true, force: true})
      return finishDeploy(client, response, flags, (line) => this.log(line))
    }
  }

  private async report(error: LaunchoError): Promise<void> {
    const {formatProblem} = await import('../../../errors.js')
    process.stderr.write(`Rejected: ${error.message}\n`)
    for (const problem of error.problems) process.stderr.write(`  ${formatProblem(problem, this.problemFile)}\n`)
  }
}

function openEditor(file: string): void {
  const editor = process.env.VISUAL || process.env.EDITOR || 'vi'
  // Through the shell, so EDITOR="code --wait" works as it does for git.
  const result = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'editor', file], {stdio: 'inherit'})
  if (result.status !== 0) {
    throw new LaunchoError('invalid_request', `the editor (${editor}) exited with status ${result.status}; nothing was changed`, {
      hint: 'set $EDITOR to an editor that exits 0 on save',
    })
  }
}

/** Offers the rejected file back; without a terminal there is nobody to ask. */
async function askAgain(): Promise<boolean> {
  if (!process.stdin.isTTY) return false
  const prompt = createInterface({input: process.stdin, output: process.stderr})
  const answer = await prompt.question('Edit again? [Y/n] ')
  prompt.close()
  return !/^n/i.test(answer.trim())
}
