import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'
import {RunningCli, waitForJournalLine} from '../helpers/logs.js'

/**
 * Any local user can write a journal entry with any field not starting with "_" (`logger
 * --journald`): launcho logs must show only what an instance's own processes wrote.
 */
describe('launcho logs ignores journal entries that only claim to be a process\'s', () => {
  let h: Harness
  let version = ''
  let unit = ''
  const trigger = () => join(h.dir, 'trigger')
  const web = () => `
  - name: web
    command: ["/bin/sh", "-c", "echo web-real-first; while sleep 0.1; do if [ -e ${trigger()} ]; then echo \\"web-real $(cat ${trigger()})\\"; rm -f ${trigger()}; fi; done"]`
  const lines = (out: string) => out.split('\n').filter(Boolean)

  /** Writes one journal entry with these fields as `nobody`, from outside every launcho unit. */
  const forgeAsNobody = (fields: string[]) =>
    new Promise<void>((resolve, reject) => {
      const [bin, ...args] = [...h.sandbox.inside(), 'setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', 'logger', '--journald']
      const child = spawn(bin!, args, {stdio: ['pipe', 'ignore', 'pipe']})
      let stderr = ''
      child.stderr.on('data', (chunk) => (stderr += chunk))
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`logger --journald exited ${code}: ${stderr}`))))
      child.stdin.end(`${fields.join('\n')}\n`)
    })

  before(async () => {
    h = await Harness.start()
    await h.setTarget(`processes:${web()}\n`)
    await waitForJournalLine(h, 'web', /^web-real-first$/)
    const status = (await h.status()).processes.find((p) => p.name === 'web')!
    version = status.version!
    unit = status.instances[0]!.unit
  })
  after(async () => h?.close())

  it('shows none of them in logs, logs --json, --all-versions or -f, and still shows the real lines', async () => {
    const follow = RunningCli.start(h, ['logs', 'web', '-f'])
    const followAll = RunningCli.start(h, ['logs', 'web', '-f', '--all-versions', '--json'])
    await follow.waitForOutput(/web-real-first/)
    await followAll.waitForOutput(/web-real-first/)

    await forgeAsNobody(['MESSAGE=forged-plain', 'LAUNCHO_PROCESS=web', `LAUNCHO_VERSION=${version}`, 'SYSLOG_IDENTIFIER=web'])
    // journald drops fields starting with "_" from a client; UNIT= and OBJECT_SYSTEMD_UNIT= it keeps.
    await forgeAsNobody(['MESSAGE=forged-unit', 'LAUNCHO_PROCESS=web', `LAUNCHO_VERSION=${version}`, `_SYSTEMD_UNIT=${unit}`, `UNIT=${unit}`, `OBJECT_SYSTEMD_UNIT=${unit}`, '_PID=1', '_UID=0'])
    await forgeAsNobody(['MESSAGE=forged-any-version', 'LAUNCHO_PROCESS=web', 'LAUNCHO_VERSION=0badc0de'])
    // Another process of the target (a tenant inside launcho.slice) claiming web's lines. The
    // sender stays alive: journald reads a sender's unit from /proc/<pid>/cgroup when it gets
    // to the datagram, and a sender already gone (`logger` piped in a shell) is attributed to
    // no unit at all under load, so not even to the tenant.
    await h.setTarget(`processes:${web()}
  - name: tenant
    uid: nobody
    env: {WEB_VERSION: "${version}"}
    command: ["/usr/bin/python3", "-c", "import os, socket, time; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(('MESSAGE=forged-by-tenant\\\\nLAUNCHO_PROCESS=web\\\\nLAUNCHO_VERSION=%s\\\\n' % os.environ['WEB_VERSION']).encode(), '/run/systemd/journal/socket'); time.sleep(600)"]
`)
    const forged = ['forged-plain', 'forged-unit', 'forged-any-version', 'forged-by-tenant']
    // The forgeries are in the journal, claiming web (what the old selection by LAUNCHO_PROCESS found).
    await waitFor('every forged entry in the journal', async () => {
      const claimed = await h.journal(['LAUNCHO_PROCESS=web', '-o', 'cat'])
      return forged.every((marker) => claimed.includes(marker))
    })
    await writeFile(trigger(), 'after-forgery')
    await follow.waitForOutput(/web-real after-forgery/)
    await followAll.waitForOutput(/web-real after-forgery/)

    const current = await h.ok(['logs', 'web'])
    const all = await h.ok(['logs', 'web', '--all-versions'])
    const json = lines(await h.ok(['logs', 'web', '--json'])).map((line) => JSON.parse(line) as Record<string, unknown>)
    const jsonAll = lines(await h.ok(['logs', 'web', '--json', '--all-versions'])).map((line) => JSON.parse(line) as Record<string, unknown>)
    for (const [what, text] of [['logs', current], ['--all-versions', all], ['-f', follow.stdout], ['-f --all-versions --json', followAll.stdout]] as const) {
      for (const marker of forged) assert.doesNotMatch(text, new RegExp(marker), `${what} showed ${marker}:\n${text}`)
      assert.match(text, /web-real-first/, what)
      assert.match(text, /web-real after-forgery/, what)
    }
    for (const entry of [...json, ...jsonAll, ...lines(followAll.stdout).map((line) => JSON.parse(line) as Record<string, unknown>)]) {
      assert.deepEqual([entry.process, entry.version, entry.unit], ['web', version, unit], JSON.stringify(entry))
    }
    assert.deepEqual(json.map((entry) => entry.message), ['web-real-first', 'web-real after-forgery'])
    await follow.stop('SIGINT')
    await followAll.stop('SIGINT')

    // What the tenant wrote is the tenant's line, shown as such.
    await waitFor('the tenant\'s own line in its logs', async () => /tenant@[0-9a-f]{8}\[\d+\]: forged-by-tenant/.test(await h.ok(['logs', 'tenant'])))
  })
})
