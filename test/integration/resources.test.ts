import assert from 'node:assert/strict'
import {execFile, spawn} from 'node:child_process'
import {promisify} from 'node:util'
import {mkdir, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {hashFile} from '../../src/store/resource-file.js'
import {Harness, waitFor} from '../helpers/harness.js'
import {MiB, peakRss, rawRequest, sha256, writeBigFile} from '../helpers/resources.js'

interface Listed {
  id: string
  name: string
  size: number
  uploadedAt: string
  usedBy: string[]
}

describe('resources: upload, list, download and remove content-addressed files', () => {
  let h: Harness
  let store: string
  before(async () => {
    h = await Harness.start()
    store = join(h.stateDir, 'resources')
  })
  after(async () => h?.close())

  const ls = async () => (JSON.parse(await h.ok(['r', 'ls', '--json'])) as {resources: Listed[]}).resources
  const up = async (path: string, extra: string[] = []) => (await h.ok(['resource', 'up', path, ...extra])).trim()
  const leftovers = async () => (await readdir(store)).filter((name) => name.startsWith('.'))
  const mode = async (path: string) => ((await stat(path)).mode & 0o777).toString(8)

  it('uploads a file, prints only its id, lists it, downloads identical bytes by prefix and removes it', async () => {
    const content = Buffer.concat([Buffer.from('bundle\n'), Buffer.alloc(100 * 1024, 7)])
    const file = join(h.dir, 'bundle.tar.bz2')
    await writeFile(file, content)
    const id = sha256(content)

    const printed = await h.ok(['resource', 'up', file])
    assert.equal(printed, `${id}\n`, 'stdout is exactly the id, so `up FILE | tee ID` works')
    assert.equal(await mode(store), '700')
    assert.equal(await mode(join(store, id)), '600')
    assert.equal(await mode(join(store, `${id}.json`)), '600')

    const listed = await ls()
    assert.deepEqual(listed.map(({id, name, size, usedBy}) => ({id, name, size, usedBy})), [{id, name: 'bundle.tar.bz2', size: content.length, usedBy: []}])
    const table = await h.ok(['resources', 'ls'])
    assert.match(table, /^ID\s+NAME\s+SIZE\s+UPLOADED\s+USED BY$/m)
    assert.match(table, new RegExp(`^${id.slice(0, 12)}\\s+bundle\\.tar\\.bz2\\s+100 KiB\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+-$`, 'm'))

    assert.equal(await up(file, ['--name', 'other-name']), id, 'uploading the same content again gives the same id')
    assert.deepEqual((await ls()).map((r) => [r.id, r.name]), [[id, 'bundle.tar.bz2']], 'and stores nothing new')

    const out = join(h.dir, 'downloaded.bin')
    await h.ok(['r', 'down', id.slice(0, 8), out])
    assert.equal(sha256(await readFile(out)), id)
    assert.equal((await h.ok(['r:down', id.slice(0, 20), '-'])).length, content.length)
    assert.deepEqual(await readdir(h.dir).then((names) => names.filter((n) => n.endsWith('.part'))), [], 'no temp file left beside OUT')

    assert.equal(await h.ok(['r', 'rm', id.slice(0, 10)]), `removed ${id}\n`)
    assert.deepEqual(await ls(), [])
    assert.deepEqual(await readdir(store), [])
    assert.match(await h.ok(['r', 'ls']), /No resources\. Upload one with: launcho resource up FILE/)

    const empty = sha256('')
    assert.equal(await up(await h.writeFile('empty', '')), empty, 'an empty file is a resource too')
    await h.ok(['r', 'rm', empty])
  })

  it('refuses ambiguous, unknown and too short ids with what to do next', async () => {
    // Two contents whose ids share 8 hex digits: a birthday search over ~2^16 hashes.
    const seen = new Map<string, string>()
    let pair: [string, string] | undefined
    for (let i = 0; !pair; i++) {
      const text = `collide-${i}`
      const other = seen.get(sha256(text).slice(0, 8))
      if (other !== undefined) pair = [other, text]
      else seen.set(sha256(text).slice(0, 8), text)
    }
    const ids = await Promise.all(pair.map(async (text, i) => up(await h.writeFile(`collide-${i}.txt`, text))))
    const prefix = ids[0]!.slice(0, 8)
    assert.equal(ids[1]!.slice(0, 8), prefix)

    const ambiguous = await h.cli(['r', 'down', prefix, join(h.dir, 'x')])
    assert.equal(ambiguous.code, 2)
    assert.match(ambiguous.stderr, new RegExp(`the id prefix ${prefix} is ambiguous: it matches ${[...ids].sort().join(', ')}`))
    assert.match(ambiguous.stderr, /Hint: give more hex digits/)

    const unknown = await h.cli(['r', 'rm', 'f'.repeat(64)])
    assert.equal(unknown.code, 2, 'an unknown id is a bad request')
    assert.match(unknown.stderr, /no resource has the id f{64}\nHint: run "launcho resource ls"/)

    const short = await h.cli(['r', 'rm', ids[0]!.slice(0, 7)])
    assert.equal(short.code, 2)
    assert.match(short.stderr, /a prefix needs at least 8 hex digits/)

    assert.equal((await ls()).length, 2, 'nothing was removed')
    await h.ok(['r', 'rm', ...ids])
    assert.deepEqual(await ls(), [])
  })

  it('moves 1 GiB up and down with identical bytes while the server stays under 256 MiB resident (Node 24; a quarter of the file)', async () => {
    const file = join(h.dir, 'big.bin')
    const out = join(h.dir, 'big.out')
    try {
      await writeBigFile(file, 1024 * MiB, 'round-trip')
      const {sha256: id} = await hashFile(file)
      assert.equal(await up(file), id)
      await h.ok(['r', 'down', id, out])
      assert.deepEqual(await hashFile(out), {sha256: id, size: 1024 * MiB})
      const peak = await peakRss(h.server!.pid!)
      assert.ok(peak < 256 * MiB, `server peak RSS ${Math.round(peak / MiB)} MiB`)
      await h.ok(['r', 'rm', id])
    } finally {
      await rm(file, {force: true})
      await rm(out, {force: true})
    }
  })

  it('keeps nothing of an upload whose CLI is killed mid-transfer', async () => {
    const file = join(h.dir, 'killed.bin')
    try {
      await writeBigFile(file, 1024 * MiB, 'killed')
      const [bin, ...argv] = h.cliArgv(['r', 'up', file])
      const child = spawn(bin, argv, {stdio: 'ignore'})
      const exited = new Promise((resolve) => child.once('exit', resolve))
      await waitFor('the upload to be under way', async () => {
        for (const name of await leftovers()) if (((await stat(join(store, name)).catch(() => undefined))?.size ?? 0) > 16 * MiB) return true
        return false
      }, 30_000, 10)
      child.kill('SIGKILL')
      await exited
      await waitFor('the partial upload to be deleted', async () => (await leftovers()).length === 0, 5_000)
      assert.deepEqual(await readdir(store), [])
      assert.deepEqual(await ls(), [])
    } finally {
      await rm(file, {force: true})
    }
  })

  it('a download stopped by Ctrl-C, SIGTERM or SIGHUP exits 130, 143 or 129 and leaves no partial file', async () => {
    const file = join(h.dir, 'interrupted.bin')
    const outDir = join(h.dir, 'downloads')
    let id: string | undefined
    try {
      await writeBigFile(file, 256 * MiB, 'interrupted')
      id = await up(file)
      await mkdir(outDir)
      for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
        const [bin, ...argv] = h.cliArgv(['r', 'down', id, join(outDir, 'out.bin')])
        const child = spawn(bin, argv, {stdio: ['ignore', 'ignore', 'pipe']})
        let stderr = ''
        child.stderr.on('data', (chunk) => (stderr += chunk))
        const exited = new Promise((resolve) => child.once('close', (exitCode, exitSignal) => resolve({exitCode, exitSignal})))
        await waitFor('the download to be under way', async () => {
          for (const name of await readdir(outDir)) if (((await stat(join(outDir, name)).catch(() => undefined))?.size ?? 0) > 16 * MiB) return true
          return false
        }, 30_000, 10)
        child.kill(signal)
        assert.deepEqual(await exited, {exitCode: code, exitSignal: null}, `${signal}: ${stderr}`)
        assert.match(stderr, /Interrupted: the download stopped and nothing was written to .*out\.bin/)
        assert.deepEqual(await readdir(outDir), [], `${signal}: neither OUT nor its temp file is left`)
      }
    } finally {
      if (id) await h.cli(['r', 'rm', id])
      await rm(file, {force: true})
      await rm(outDir, {recursive: true, force: true})
    }
  })

  it('refuses hostile ids, hashes, bodies and names with a clear 4xx, storing and touching nothing', async () => {
    const keep = await up(await h.writeFile('keep.txt', 'keep me'))
    const stateBefore = await readdir(h.stateDir, {recursive: true})
    const badIds = ['..%2F..%2Fetc%2Fpasswd', '%2e%2e', '..', 'a'.repeat(65), keep.toUpperCase(), `${keep.slice(0, 10)}%00`, 'zzzzzzzz', '%C0%AE%C0%AE%2F']
    for (const bad of badIds) {
      for (const [method, path] of [['GET', `/v1/resources/${bad}`], ['GET', `/v1/resources/${bad}/content`], ['DELETE', `/v1/resources/${bad}`]] as const) {
        const res = await rawRequest(h, {method, path})
        assert.equal(res.status, 400, `${method} ${path}: ${res.text}`)
        assert.ok(res.text.length < 2000 && /id|url/i.test(res.text), `${method} ${path} says why: ${res.text}`)
      }
    }
    const cliBad = await h.cli(['r', 'down', '../../etc/passwd', join(h.dir, 'passwd')])
    assert.equal(cliBad.code, 2)
    assert.match(cliBad.stderr, /invalid resource id "\.\.\/\.\.\/etc\/passwd": ids contain only the hex digits 0-9 and a-f/)

    const body = Buffer.from('hello')
    const upload = (headers: Record<string, string | number>, payload: string | Buffer = body) =>
      rawRequest(h, {method: 'PUT', path: '/v1/resources', headers: {'content-type': 'application/octet-stream', ...headers}, body: payload})
    const refusals: Array<[string, Promise<Awaited<ReturnType<typeof upload>>>, number, RegExp]> = [
      ['wrong declared hash', upload({'x-launcho-sha256': sha256('not hello')}), 400, /has SHA-256 [0-9a-f]{64}, not the declared/],
      ['no hash', upload({}), 400, /x-launcho-sha256 header is missing/],
      ['uppercase hash', upload({'x-launcho-sha256': sha256(body).toUpperCase()}), 400, /declared SHA-256/],
      ['non-UTF-8 name', upload({'x-launcho-sha256': sha256(body), 'x-launcho-name': '%FF%FE'}), 400, /not percent-encoded UTF-8/],
      ['raw latin-1 name', upload({'x-launcho-sha256': sha256(body), 'x-launcho-name': 'caf\u00e9'}), 400, /not percent-encoded UTF-8/],
      ['NUL in name', upload({'x-launcho-sha256': sha256(body), 'x-launcho-name': 'a%00b'}), 400, /invalid resource name/],
      ['malformed JSON', rawRequest(h, {method: 'PUT', path: '/v1/resources', headers: {'content-type': 'application/json'}, body: '{"value": '}), 400, /raw bytes/],
      ['oversized JSON', rawRequest(h, {method: 'PUT', path: '/v1/resources', headers: {'content-type': 'application/json'}, body: `{"v":"${'x'.repeat(3 * MiB)}"}`}), 400, /raw bytes/],
      ['over 64 GiB declared', upload({'x-launcho-sha256': sha256(body), 'content-length': 70 * 1024 ** 3}), 413, /at most/],
    ]
    for (const [what, response, status, message] of refusals) {
      const res = await response
      assert.equal(res.status, status, `${what}: ${res.text}`)
      assert.match(res.json.error?.message ?? '', message, what)
    }

    assert.deepEqual((await ls()).map((r) => r.id), [keep], 'nothing new stored, nothing removed')
    await waitFor('no partial upload left', async () => (await leftovers()).length === 0, 5_000)
    assert.deepEqual((await readdir(h.stateDir, {recursive: true})).sort(), stateBefore.sort())
    assert.match(await h.ok(['status']), /\S/)
    await h.ok(['r', 'rm', keep])
  })

  it('refuses to remove a resource that a process of the target uses, naming the process', async () => {
    const id = await up(await h.writeFile('app.tar', 'the app'))
    await h.setTarget(`
processes:
  - name: web
    command: ["sleep", "600"]
    resources: [{id: "${id}", file: app.tar}]
  - name: worker
    command: ["sleep", "600"]
    resources: [{id: "${id.slice(0, 12)}", file: app.tar}]
  - name: other
    command: ["sleep", "600"]
`)
    const refused = await h.cli(['r', 'rm', id.slice(0, 8)])
    assert.equal(refused.code, 2, 'a conflict with the target is a bad request')
    assert.match(refused.stderr, new RegExp(`resource ${id} is used by the target's processes web, worker; it was not removed`))
    assert.match(refused.stderr, /Hint: set a target \(launcho t set\) in which no process lists it/)
    assert.deepEqual((await ls()).map((r) => [r.id, r.usedBy]), [[id, ['web', 'worker']]])
    assert.match(await h.ok(['r', 'ls']), /\s+web, worker$/m)

    await h.setTarget('processes:\n  - name: other\n    command: ["sleep", "600"]\n')
    // The target no longer lists it, but the release kept for rollback does.
    const kept = await h.cli(['r', 'rm', id])
    assert.equal(kept.code, 2, kept.stderr)
    assert.match(kept.stderr, new RegExp(`^Error: resource ${id} is kept for release \\d+ \\(launcho rollback can go back to it\\); it was not removed$`, 'm'))
    assert.match(kept.stderr, /^Hint: the server keeps the last 20 releases \(its "releases" setting\)/m)
    // Once no kept release lists it (here: a server keeping only the latest release), it goes.
    await h.stopServer()
    await h.startServer(['--config', await h.writeFile('one-release.yaml', 'releases: 1\n')], {printAuth: false})
    assert.equal(await h.ok(['r', 'rm', id]), `removed ${id}\n`)
    assert.deepEqual(await ls(), [])
  })

  it('shows a progress bar with rate and ETA on a terminal, and nothing but the id on a pipe', async () => {
    const file = join(h.dir, 'progress.bin')
    await writeBigFile(file, 32 * MiB, 'progress')
    const {sha256: id} = await hashFile(file)

    const piped = await h.cli(['resource', 'up', file])
    assert.deepEqual([piped.code, piped.stdout, piped.stderr], [0, `${id}\n`, ''])
    const pipedDown = await h.cli(['resource', 'down', id, join(h.dir, 'progress.down')])
    assert.deepEqual([pipedDown.code, pipedDown.stderr], [0, ''])
    await h.ok(['resource', 'rm', id])

    // script(1) gives the CLI a pseudo-terminal; what it prints there comes back on our pipe.
    const onTerminal = async (args: string[]) => {
      const command = h.cliArgv(args).map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ')
      return (await promisify(execFile)('script', ['-qfec', `stty cols 100; ${command}`, '/dev/null'], {maxBuffer: 16 * MiB})).stdout
    }
    const upOut = await onTerminal(['resource', 'up', file])
    assert.match(upOut, /\ruploading \[[#-]+\] +\d+% [\d.]+ [kMG]?B\/33\.6 MB  [\d.]+ [kMG]?B\/s  ETA /)
    assert.match(upOut, /\r\x1b\[K/, 'the bar is erased at the end')
    assert.ok(upOut.trimEnd().endsWith(id), 'the id is still the last thing printed')
    const downOut = await onTerminal(['resource', 'down', id, join(h.dir, 'progress.tty')])
    assert.match(downOut, /\rdownloading \[[#-]+\] +\d+% [\d.]+ [kMG]?B\/33\.6 MB  [\d.]+ [kMG]?B\/s  ETA /)
    assert.deepEqual(await readFile(join(h.dir, 'progress.tty')), await readFile(file))
    await h.ok(['resource', 'rm', id])
  })
})
