/**
 * Hostile secret values reach a process through its env and are used the documented way in its
 * `before` script, its command (a `sh -c` script and plain argv words) and its exec health check.
 * systemd must expand nothing, so every value arrives byte for byte as data: no injected command
 * runs (each would write a file anyone may write), no argv word is split or changed.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {chmod, mkdir, readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'
import type {InstanceStatus} from '../../src/protocol/status.js'
import {say} from './helpers/common.js'

type Instance = InstanceStatus

/** Each value would, if any shell or systemd evaluated it, write `<drop>/pwned-<i>`. */
function hostileValues(drop: string): Array<[string, string]> {
  const pwned = (i: number) => `${drop}/pwned-${i}`
  return [
    ['$(…)', `$(id > ${pwned(1)})`],
    ['backticks', `\`id > ${pwned(2)}\``],
    ['${…} with a nested command', `\${HOME:+$(id > ${pwned(3)})}`],
    ['$$ and $$(…)', `$$ $$(id > ${pwned(4)}) a$$b`],
    ['; and a closing quote', `x"; id > ${pwned(5)}; echo "`],
    ['newlines', `x"\nid > ${pwned(6)}\necho "`],
  ]
}

const SINKS = ['seen-by-before', 'seen-by-command', 'seen-by-check'] as const

function processOf(i: number): string {
  const write = (file: string) => `printf '%s' \\"$\${V}\\" > ${file}`
  return `  - name: inj-${i}
    uid: nobody
    env:
      V: "\${S${i}}"
    before: "${write('seen-by-before')}"
    command: ["/bin/sh", "-c", "${write('seen-by-command')}; sleep 600; :", "argv0", "$V", "$\${V}", "a$$b"]
    health: {command: ["/bin/sh", "-c", "${write('seen-by-check')}"], interval: 500ms}
`
}

describe('hostile env values reach before, command and exec checks as data', () => {
  let h: Harness
  let drop = ''
  let values: Array<[string, string]> = []
  before(async () => {
    h = await Harness.start()
    drop = join(h.dir, 'drop')
    await mkdir(drop)
    await chmod(drop, 0o777)
    values = hostileValues(drop)
    for (const [i, [, value]] of values.entries()) await h.ok(['secret', 'set', `S${i + 1}`], {input: value})
  })
  after(async () => h?.close())

  it('runs no injected code and delivers every value byte for byte', async (t) => {
    const started = Date.now()
    await h.setTarget(`processes:\n${values.map((_, i) => processOf(i + 1)).join('')}`)
    const instances = await waitFor('every process running', async () => {
      const found = (await h.status()).processes.filter((p) => p.name.startsWith('inj-')).map((p) => p.instances[0] as Instance | undefined)
      return found.length === values.length && found.every((i) => i?.activeState === 'active' && i.pid > 0) && (found as Instance[])
    }, 60_000, 200)
    const dirOf = (i: number) => {
      const unit = instances.find((instance) => instance.unit.startsWith(`launcho-inj-${i + 1}-`))!
      return {unit, dir: join(h.stateDir, 'instances', unit.unit.replace(/\.service$/, ''))}
    }
    const allWritten = () => values.every((_, i) => SINKS.every((sink) => existsSync(join(dirOf(i).dir, sink))))
    // Bounded; what is missing then fails below, with what was written instead.
    await waitFor('every value written by before, command and check', async () => allWritten(), 30_000, 200).catch(() => undefined)
    const elapsed = Date.now() - started
    const written = (await readdir(drop)).filter((name) => name.startsWith('pwned-'))
    assert.deepEqual(written, [], `injected commands ran: ${written.join(', ')}`)
    let delivered = 0
    for (const [i, [label, value]] of values.entries()) {
      const {unit, dir} = dirOf(i)
      for (const sink of SINKS) {
        assert.equal(await readFile(join(dir, sink), 'utf8').catch(() => '(nothing written)'), value, `${label}: ${sink}`)
        delivered += 1
      }
      const argv = (await h.inside(['cat', `/proc/${unit.pid}/cmdline`])).split('\0').slice(4, -1)
      assert.deepEqual(argv, ['$V', '${V}', 'a$$b'], `${label}: argv words`)
      say(t, `${label}: ${SINKS.join(', ')} got the value exactly; argv words literal`)
    }
    await waitFor('every check passing', async () => {
      const found = (await h.status()).processes.filter((p) => p.name.startsWith('inj-'))
      return found.every((p) => (p.instances[0] as Instance | undefined)?.health === 'healthy')
    }, 30_000, 200)
    say(t, `tried ${values.length} hostile values × ${SINKS.length} places (before, sh -c command, exec check) + 3 argv words each: ` +
      `${delivered}/${values.length * SINKS.length} delivered byte for byte, ${written.length} injected commands ran; every value in place ${elapsed} ms after t set, every check passing`)
  })
})
