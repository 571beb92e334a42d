/**
 * Targets that could only fail at every start, refused when set (issue 10, findings 4, 9, 11, 12):
 * the cases of test/helpers/refusals.ts, control characters in every field that reaches a unit
 * (as written and through a secret), and secret changes that would make the running target one
 * of them. Each must exit 2 (1 for a refused secret change) with the line; nothing that runs is
 * disturbed, nothing is stored, no secret value is shown, and the server stays quiet afterwards
 * (no start loop). The transient unit files systemd wrote hold no raw control character.
 */
import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor, type StatusJson} from '../helpers/harness.js'
import {collidingContents, positionOf, refusalCases, sha256, WEB, withBad, type RefusalCase} from '../helpers/refusals.js'
import {assertNoLeaks, say, sleep} from './helpers/common.js'

/** Characters that would change a unit file or a terminal: newline, CR, ESC, DEL, next-line, line separator. */
const CONTROLS: Array<[string, string]> = [
  ['\\n', 'a newline (U+000A)'],
  ['\\r', 'a carriage return (U+000D)'],
  ['\\e', 'an escape character (U+001B)'],
  ['\\x7f', 'a DEL character (U+007F)'],
  ['\\N', 'a next-line character (U+0085)'],
  ['\\L', 'a line separator (U+2028)'],
]

/** Each field that reaches a unit: the process lines with a `@` where the character goes, and its name in messages. */
const FIELDS: Array<{field: string; what: string; lines: string; needle: string}> = [
  {field: 'processes[1].cwd', what: 'cwd', lines: 'command: ["sleep", "1"]\ncwd: "/srv@"', needle: '"/srv'},
  {field: 'processes[1].uid', what: 'uid', lines: 'command: ["sleep", "1"]\nuid: "nobody@"', needle: '"nobody'},
  {field: 'processes[1].gid', what: 'gid', lines: 'command: ["sleep", "1"]\ngid: "nogroup@"', needle: '"nogroup'},
  {field: 'processes[1].command[0]', what: 'command items', lines: 'command: ["/bin/sleep@", "1"]', needle: '"/bin/sleep'},
  {field: 'processes[1].command[1]', what: 'command items', lines: 'command: ["sleep", "9@"]', needle: '"9'},
  {field: 'processes[1].resources[0].file', what: 'resource file', lines: 'command: ["sleep", "1"]\nresources: [{id: RESOURCE, file: "app@.tar"}]', needle: '"app'},
  {field: 'processes[1].health.path', what: 'health.path', lines: 'command: ["sleep", "1"]\nreceives: [probe]\nhealth: {service: probe, path: "/ok@"}', needle: '"/ok'},
  {field: 'processes[1].health.command[1]', what: 'health.command items', lines: 'command: ["sleep", "1"]\nhealth: {command: ["/bin/true", "x@"]}', needle: '"x'},
  {field: 'processes[1].before', what: 'before', lines: 'command: ["sleep", "1"]\nbefore: "echo@"', needle: '"echo'},
]
/** CLIs started at once: most of a refusal's time is the CLI's start-up, on a 2-core machine. */
const CLI_CONCURRENCY = 3
const PROBE = 'services:\n  - name: probe\n    on: "127.0.0.1:5001"\n'

describe('targets that could only fail at each start are refused with the line', () => {
  let h: Harness
  let webPid = 0
  let resource = ''
  const secretValues: string[] = []

  const web = (status: StatusJson) => status.processes.find((p) => p.name === 'web')
  const snapshot = async () => ({
    target: await h.ok(['t', 'get']),
    secrets: await readFile(join(h.stateDir, 'secrets.json'), 'utf8'),
    units: await Promise.all((await h.units()).map(async (unit) => `${unit} ${(await h.unit(unit, ['MainPID'])).MainPID}`)),
  })

  before(async () => {
    h = await Harness.start()
    resource = (await h.ok(['resource', 'up', await h.writeFile('app.tar', 'the app\n')])).trim()
    await h.ok(['secret', 'set', 'RUN_AS', 'nobody'])
    await h.setTarget(WEB.replace('uid: nobody', 'uid: "${RUN_AS}"'))
    webPid = await waitFor('web running', async () => {
      const process = web(await h.status())
      return process?.state === 'running' && process.instances[0]!.pid
    })
  })
  after(async () => h?.close())

  /** Runs `t set` on each case, a few CLIs at a time; returns the failures (wrong exit code or line missing). */
  async function refuseAll(cases: RefusalCase[], prefix: string): Promise<{failures: string[]; ms: number}> {
    const failures: string[] = []
    const started = Date.now()
    const queue = [...cases.entries()]
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [i, refusal] = next
        const file = await h.writeFile(`${prefix}-${i}.yaml`, refusal.text)
        const result = await h.cli(['t', 'set', file])
        const expected = `  ${file}:${refusal.line}`
        if (result.code !== 2 || !result.stderr.split('\n').includes(expected)) {
          failures.push(`${refusal.name}: exit ${result.code}; expected\n${expected}\ngot\n${result.stderr}${result.stdout}`)
        }
        if (secretValues.some((value) => result.stderr.includes(value) || result.stdout.includes(value))) failures.push(`${refusal.name}: the output shows a secret value`)
      }
    }
    await Promise.all(Array.from({length: CLI_CONCURRENCY}, worker))
    return {failures: failures.sort(), ms: Date.now() - started}
  }

  it('refuses every case of the list, with exit 2 and the line', async (t) => {
    const ids = await Promise.all(collidingContents('reliability').map(async (text, i) => (await h.ok(['resource', 'up', await h.writeFile(`collide-${i}`, text)])).trim()))
    const unstored = sha256('reliability: never uploaded')
    secretValues.push(unstored)
    await h.ok(['secret', 'set', 'BUNDLE_RESOURCE_ID', unstored])
    const before0 = await snapshot()
    const cases = refusalCases({apiPort: h.port, ambiguous: {prefix: ids[0]!.slice(0, 8), ids}, unstoredSecret: 'BUNDLE_RESOURCE_ID'})
    const {failures, ms} = await refuseAll(cases, 'listed')
    say(t, `${cases.length} listed cases refused with exit 2 and the line in ${(ms / 1000).toFixed(1)} s (${cases.map((c) => c.name).join('; ')})`)
    assert.deepEqual(failures, [])
    assert.deepEqual(await snapshot(), before0, 'nothing stored, started or restarted')
  })

  it('refuses a control character in every field that reaches a unit, as written and through a secret', async (t) => {
    // As an argument: oclif reads a piped value line by line, which would turn the CR into a LF.
    const hostile = `x\rsecret-${sha256('hostile').slice(0, 12)}`
    secretValues.push(hostile.slice(2))
    await h.ok(['secret', 'set', 'HOSTILE', hostile])
    const before0 = await snapshot()
    const cases: RefusalCase[] = []
    for (const {field, what, lines, needle} of FIELDS) {
      const allowed = what === 'before' ? 'control characters other than newlines and tabs' : 'control characters'
      const services = what === 'health.path' ? PROBE : ''
      for (const [escape, description] of CONTROLS) {
        if (what === 'before' && escape === '\\n') continue // a script's newlines are kept
        const text = withBad(lines.replace('@', escape).replace('RESOURCE', resource), services)
        cases.push({name: `${field} ${escape}`, text, line: `${positionOf(text, needle)}: ${field}: ${what} must not contain ${allowed}: found ${description}`})
      }
      // Through a secret: the line names the secret, never the value.
      const text = withBad(lines.replace('@', '${HOSTILE}').replace('RESOURCE', resource), services)
      cases.push({name: `${field} from a secret`, text, line: `${positionOf(text, needle)}: ${field} (from secret HOSTILE): ${what} must not contain ${allowed}: found a carriage return (U+000D)`})
    }
    const {failures, ms} = await refuseAll(cases, 'controls')
    say(t, `${cases.length} control-character cases (${FIELDS.length} fields × ${CONTROLS.length} characters, and each field through a secret) refused with exit 2 and the line in ${(ms / 1000).toFixed(1)} s`)
    assert.deepEqual(failures, [])
    assert.deepEqual(await snapshot(), before0, 'nothing stored, started or restarted')
  })

  it('refuses a secret change that would make the running target one of them, and keeps the secret', async (t) => {
    assert.equal(await h.ok(['t', 'get']), WEB.replace('uid: nobody', 'uid: "${RUN_AS}"'), 'the target set first is still the stored one')
    const before0 = await snapshot()
    const changes: Array<[string, string[], string]> = [
      ['a newline in the user', ['secret', 'set', 'RUN_AS', 'nobody\nNice=7'], '4:10: processes[0].uid (from secret RUN_AS): uid must not contain control characters: found a newline (U+000A)'],
      ['an unknown user', ['secret', 'set', 'RUN_AS', 'launcho-no-such-user'], '4:10: processes[0].uid (from secret RUN_AS): no such user on this server'],
      ['uid 65535', ['secret', 'set', 'RUN_AS', '65535'], '4:10: processes[0].uid (from secret RUN_AS): uid is not a valid user id: systemd takes 0-4294967294, except 65535'],
      ['removing it', ['secret', 'rm', 'RUN_AS'], '4:10: processes[0].uid: secret "RUN_AS" is not set'],
    ]
    const failures: string[] = []
    for (const [what, args, line] of changes) {
      const result = await h.cli(args)
      if (result.code !== 2 || !result.stderr.split('\n').includes(`  ${line}`) || result.stderr.includes('launcho-no-such-user')) {
        failures.push(`${what}: exit ${result.code}; expected\n  ${line}\ngot\n${result.stderr}`)
      }
    }
    say(t, `${changes.length} secret changes refused with exit 2 (a conflict with the target) and the line`)
    assert.deepEqual(failures, [])
    assert.deepEqual(await snapshot(), before0, 'the secret and what runs are unchanged')
  })

  it('leaves web running with its PID, the server quiet, and no raw control character in a unit file', async (t) => {
    const status = await h.status()
    assert.deepEqual(status.processes.map((p) => [p.name, p.state, p.instances.map((i) => i.pid)]), [['web', 'running', [webPid]]])
    // A start loop logs hundreds of lines a second; a refused target logs nothing more.
    const logged = h.serverLog.length
    await sleep(3000)
    const quiet = h.serverLog.slice(logged).split('\n').filter(Boolean)
    say(t, `server log in the 3 s after the refusals: ${quiet.length} lines`)
    assert.ok(quiet.length < 10, quiet.slice(0, 10).join('\n'))

    // A multi-line before with tabs is kept, and systemd writes it escaped.
    await h.setTarget(`${WEB}  - name: script\n    command: ["sleep", "100000"]\n    before: "printf 'a\\\\tb\\\\n' > out.txt\\n\\techo done\\n"\n`)
    await waitFor('script running', async () => (await h.status()).processes.find((p) => p.name === 'script')?.state === 'running')
    const transient = join(`/proc/${h.sandbox.pid1}/root/run/systemd/transient`)
    const files = await Promise.all((await h.units()).map(async (unit) => [unit, await readFile(join(transient, unit), 'utf8')] as const))
    for (const [unit, text] of files) {
      assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/, unit)
      for (const line of text.split('\n').filter(Boolean)) assert.match(line, /^(#.*|\[\w+\]|[A-Za-z]+=.*)$/, `${unit}: ${line}`)
    }
    assert.match(files.find(([unit]) => unit.startsWith('launcho-script-'))![1], /ExecStartPre(?:Ex)?=.*\\n\\techo done\\n/)
    say(t, `${files.length} transient unit files: one property per line, no raw control character; the multi-line before is written escaped`)
    const searched = await assertNoLeaks(h, secretValues)
    say(t, `${secretValues.length} secret values absent from ${searched.serverLogBytes} bytes of server log and ${searched.journalBytes} bytes of journal`)
  })
})

