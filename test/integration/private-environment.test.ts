/**
 * An instance's env (secrets included) reaches its process and its `before` step exactly, byte for
 * byte, but no other local user: it is in a 0600 EnvironmentFile, not in the unit's Environment=.
 */
import assert from 'node:assert/strict'
import {stat, writeFile, readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'

const secret = `pa$$ "w0rd" \\ with \`ticks\` 'quotes' #and =more ${'$'}{NOT_A_VAR} ü`
/** Everything systemd's env-file syntax treats specially, plus a newline, a tab and edge spaces. */
const tricky = `  lead and trail  \n"double" 'single' \\ \\n $HOME ${'$'}{x} \`cmd\` # not a comment =eq\ttab ünï ;semi\\`
const target = `processes:
  - name: envy
    command: ["sleep", "600"]
    uid: nobody
    before: printf '%s' "$DB_PASS" > seen-by-before.txt
    env:
      DB_PASS: "\${DB_PASS}"
      TRICKY: ${JSON.stringify(tricky).replaceAll('${', () => '$${')}
      EMPTY: ""
    receives: [web]
services:
  - name: web
    on: "127.0.0.1:5000"
`

describe("an instance's environment is private to it", () => {
  let h: Harness
  let unit = ''
  before(async () => {
    h = await Harness.start()
    await h.ok(['secret', 'set', 'DB_PASS'], {input: secret})
    await h.setTarget(target)
    const running = await waitFor('envy running', async () => {
      const envy = (await h.status()).processes.find((p) => p.name === 'envy')
      return envy?.state === 'running' && envy.instances[0]
    })
    unit = running.unit
  })
  after(async () => h?.close())

  it('reaches the process byte for byte, with the port beside it', async () => {
    const env = (await h.processEnv(unit))!
    assert.equal(env.DB_PASS, secret)
    assert.equal(env.TRICKY, tricky)
    assert.equal(env.EMPTY, '')
    assert.match(env.SERVICE_PORT_WEB ?? '', /^\d+$/)
  })

  it('reaches the before step too', async () => {
    const seen = await readFile(join(h.stateDir, 'instances', unit.replace(/\.service$/, ''), 'seen-by-before.txt'), 'utf8')
    assert.equal(seen, secret)
  })

  it('cannot be read by another local user through systemd or the file', async () => {
    const asDaemon = (command: string[]) => h.inside(['setpriv', '--reuid=1', '--regid=1', '--clear-groups', ...command]).catch((error: Error) => `failed: ${error.message}`)
    const shown = await asDaemon(['systemctl', 'show', unit, '-p', 'Environment', '-p', 'EnvironmentFiles'])
    assert.match(shown, /^Environment=SERVICE_PORT_WEB=\d+$/m)
    assert.ok(!shown.includes('pa$$') && !shown.includes('TRICKY'), shown)
    const file = join(h.stateDir, 'environments', `${unit.replace(/\.service$/, '')}.env`)
    assert.match(shown, new RegExp(`^EnvironmentFiles=${file} \\(ignore_errors=no\\)$`, 'm'))
    assert.match(await asDaemon(['cat', file]), /^failed: .*Permission denied/s)
    const [fileStat, dirStat] = await Promise.all([stat(file), stat(join(h.stateDir, 'environments'))])
    assert.deepEqual([(fileStat.mode & 0o777).toString(8), fileStat.uid, (dirStat.mode & 0o777).toString(8)], ['600', 0, '700'])
  })

  it('is removed with its instance, and a leftover of an instance gone while launcho was down is swept', async () => {
    const dir = join(h.stateDir, 'environments')
    const ghost = join(dir, 'launcho-ghost-0badc0de.env')
    await writeFile(ghost, 'X="1"\n', {mode: 0o600})
    await h.setTarget('processes: []\n', {allowEmpty: true})
    const left = await waitFor('environment files gone', async () => {
      const files = await readdir(dir)
      return files.length === 0 && files
    })
    assert.deepEqual(left, [])
  })
})
