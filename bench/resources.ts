/**
 * Resource transfer throughput: a 1 GiB file uploaded and downloaded through a real launcho
 * server (sandbox systemd, TLS, the real CLI), against `cp` of the same file on the same disk.
 * Run: npm run build && node dist/bench/resources.js [SIZE_MIB]
 *
 * Launcho's figures are end to end as a user sees them: CLI start, the client's hashing pass,
 * TLS, the server's hashing and fsync, and on download the client's verification and fsync.
 */
import {execFile} from 'node:child_process'
import {rm} from 'node:fs/promises'
import {loadavg} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {hashFile} from '../src/store/resource-file.js'
import {Harness} from '../test/helpers/harness.js'
import {MiB, peakRss, writeBigFile} from '../test/helpers/resources.js'

const run = promisify(execFile)
const sizeMiB = Number(process.argv[2] ?? 1024)
const bytes = sizeMiB * MiB

async function timed(what: string, action: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint()
  await action()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  console.log(`${what.padEnd(34)} ${seconds.toFixed(2).padStart(6)} s  ${(bytes / 1e6 / seconds).toFixed(0).padStart(5)} MB/s`)
  return seconds
}

const h = await Harness.start()
try {
  const file = join(h.dir, 'bench.bin')
  await writeBigFile(file, bytes, 'bench')
  const {sha256: id} = await hashFile(file)
  console.log(`file: ${sizeMiB} MiB on ${h.dir} (page cache warm for every step); load average ${loadavg()[0]!.toFixed(1)}`)
  const idlePeak = await peakRss(h.server!.pid!)

  const cp = await timed('cp (--reflink=never)', () => run('cp', ['--reflink=never', file, join(h.dir, 'cp.bin')]))
  const cpSync = await timed('cp + sync of the copy', async () => {
    await run('cp', ['--reflink=never', file, join(h.dir, 'cp2.bin')])
    await run('sync', [join(h.dir, 'cp2.bin')])
  })
  await timed('sha256 of the file (in process)', () => hashFile(file))
  const up = await timed('launcho resource up', async () => {
    if ((await h.ok(['r', 'up', file])).trim() !== id) throw new Error('upload printed another id')
  })
  const down = await timed('launcho resource down', () => h.ok(['r', 'down', id, join(h.dir, 'down.bin')]))
  const peak = await peakRss(h.server!.pid!)

  console.log('')
  console.log(`upload   / cp: ${(cp / up).toFixed(2)}   (vs cp + sync: ${(cpSync / up).toFixed(2)})`)
  console.log(`download / cp: ${(cp / down).toFixed(2)}   (vs cp + sync: ${(cpSync / down).toFixed(2)})`)
  console.log(`server peak RSS (VmHWM): ${Math.round(idlePeak / MiB)} MiB before the transfers, ${Math.round(peak / MiB)} MiB after`)
  for (const name of ['bench.bin', 'cp.bin', 'cp2.bin', 'down.bin']) await rm(join(h.dir, name), {force: true})
} finally {
  await h.close()
}
