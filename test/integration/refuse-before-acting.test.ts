/**
 * Refuse what cannot work, before touching anything (issue 12, part 6): a target naming a
 * resource that is not stored (with file:line), `resource rm` of a resource the target uses
 * (naming the process and the line), and a target without processes unless `--allow-empty`,
 * whatever the input: a file, empty stdin, a pipe whose command failed. Each refusal exits 2,
 * stores nothing, and what runs keeps its MainPIDs.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {after, before, describe, it} from 'node:test'
import {promisify} from 'node:util'
import {Harness, waitFor} from '../helpers/harness.js'
import {sha256} from '../helpers/refusals.js'

const run = promisify(execFile)

describe('refusals that leave everything as it runs', () => {
  let h: Harness
  let target = ''
  let resourceId = ''
  let pids: Record<string, string> = {}

  const mainPids = async () => Object.fromEntries(await Promise.all((await h.units()).map(async (unit) => [unit, (await h.unit(unit, ['MainPID'])).MainPID!] as const)))

  async function nothingChanged(): Promise<void> {
    assert.equal(await h.ok(['t', 'get']), target, 'the stored target is unchanged')
    assert.deepEqual(await mainPids(), pids, 'every unit keeps its MainPID')
  }

  /** `sh -c 'SCRIPT'` with "$@" the CLI's argv, as a user would type it in a shell. */
  async function shell(script: string, cliArgs: string[]): Promise<{code: number; stderr: string; stdout: string}> {
    try {
      const {stdout, stderr} = await run('sh', ['-c', script, 'sh', ...h.cliArgv(cliArgs)])
      return {code: 0, stdout, stderr}
    } catch (error) {
      const failed = error as {code: number; stdout: string; stderr: string}
      return {code: failed.code, stdout: failed.stdout, stderr: failed.stderr}
    }
  }

  before(async () => {
    h = await Harness.start()
    resourceId = (await h.ok(['resource', 'up', await h.writeFile('bundle.txt', 'the bundle')])).trim()
    target = `processes:
  - name: web
    command: ["sleep", "100000"]
  - name: app
    command: ["sleep", "100000"]
    uid: nobody
    resources:
      - id: "${resourceId}"
        file: bundle.txt
`
    await h.setTarget(target)
    await waitFor('both running', async () => (await h.status()).processes.every((p) => p.state === 'running') || undefined, 15_000, 100)
    pids = await mainPids()
    assert.equal(Object.keys(pids).length, 2)
  })
  after(async () => h?.close())

  it('t set of a target naming a resource that is not stored: exit 2 with file:line, nothing changes', async () => {
    const unstored = sha256('never uploaded')
    const file = await h.writeFile('unstored.yaml', target.replace(resourceId, unstored))
    const result = await h.cli(['t', 'set', file])
    assert.equal(result.code, 2, result.stderr)
    assert.ok(result.stderr.split('\n').includes(`  ${file}:8:13: processes[1].resources[0].id: no resource with the id ${unstored} is stored; upload it with "launcho resource up FILE" ("launcho resource ls" lists the stored ones)`), result.stderr)
    await nothingChanged()
  })

  it('resource rm of a resource the target uses: exit 2 naming the process and the line, the resource stays', async () => {
    const result = await h.cli(['resource', 'rm', resourceId.slice(0, 12)])
    assert.equal(result.code, 2, result.stderr)
    assert.deepEqual(result.stderr.trimEnd().split('\n'), [
      `Error: resource ${resourceId} is used by the target's process app; it was not removed`,
      '  8:13: processes[1].resources[0].id: process app lists it',
      'Hint: set a target (launcho t set) in which no process lists it under resources, then remove it (the lines are those of "launcho t get")',
    ])
    const json = await h.cli(['resource', 'rm', resourceId, '--json'])
    assert.deepEqual(JSON.parse(json.stderr).error.problems, [{line: 8, column: 13, field: 'processes[1].resources[0].id', message: 'process app lists it'}])
    assert.match(await h.ok(['resource', 'ls']), new RegExp(resourceId.slice(0, 12)))
    await nothingChanged()
  })

  it('t set of a target without processes is refused, from a file, a comments-only file, empty stdin or a failed pipe', async () => {
    const refusal = /^Error: refused: the target (has no processes|is empty \(no text at all\)); setting it would stop every process \(web, app\)\. Nothing was changed$/m
    const cases: Array<[string, () => Promise<{code: number; stderr: string; stdout: string}>]> = [
      ['processes: []', async () => h.cli(['t', 'set', await h.writeFile('empty.yaml', 'processes: []\nservices: []\n')])],
      ['only comments (like the default target)', async () => h.cli(['t', 'set', await h.writeFile('comments.yaml', '# nothing here yet\nprocesses:\n  # - name: web\n')])],
      ['empty stdin', async () => h.cli(['t', 'set', '-'], {input: ''})],
      ['cat missing | launcho t set -', async () => shell('cat /nonexistent/target.yaml | "$@"', ['t', 'set', '-'])],
    ]
    for (const [label, attempt] of cases) {
      const result = await attempt()
      assert.equal(result.code, 2, `${label}: exit ${result.code}\n${result.stderr}${result.stdout}`)
      assert.match(result.stderr, refusal, label)
      assert.match(result.stderr, /Hint: to stop every process on purpose, set it with --allow-empty/, label)
    }
    await nothingChanged()
  })

  it('--allow-empty sets an empty target on purpose: every process stops', async () => {
    const out = await h.ok(['t', 'set', '-', '--allow-empty'], {input: 'processes: []\n'})
    assert.match(out, /stop\s+web/)
    assert.match(out, /stop\s+app/)
    await waitFor('every unit gone', async () => (await h.units()).length === 0, 20_000, 100)
    // The target no longer uses the resource, but the releases kept for rollback do.
    const kept = await h.cli(['resource', 'rm', resourceId])
    assert.equal(kept.code, 2, kept.stderr)
    assert.match(kept.stderr, new RegExp(`^Error: resource ${resourceId} is kept for releases? [\\d, ]+ \\(launcho rollback can go back to (it|them)\\); it was not removed$`, 'm'))
  })
})
