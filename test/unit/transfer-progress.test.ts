import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {formatBytes, formatSeconds, renderProgress, TransferProgress} from '../../src/cli/transfer-progress.js'

describe('transfer progress bar', () => {
  it('shows done/total, rate and time left, exactly as wide as the terminal', () => {
    const line = renderProgress({label: 'uploading', done: 250e6, total: 1e9, elapsed: 2, columns: 80})
    assert.equal(line.length, 80)
    assert.match(line, /^uploading \[#+-+\]  25% 250\.0 MB\/1\.0 GB  125\.0 MB\/s  ETA 0:06$/)
    const filled = line.match(/#+/)![0].length
    const bar = line.match(/\[([#-]+)\]/)![1]!.length
    assert.equal(filled, Math.round(bar / 4))
  })

  it('drops the bar but keeps the figures on a narrow terminal, and never overflows it', () => {
    const line = renderProgress({label: 'downloading', done: 5e5, total: 2e6, elapsed: 1, columns: 40})
    assert.ok(line.length <= 40, line)
    assert.doesNotMatch(line, /\[/)
    assert.match(line, /^downloading  25% 500\.0 kB\/2\.0 MB/)
  })

  it('says --:-- before any rate is known and 100% at the end', () => {
    assert.match(renderProgress({label: 'uploading', done: 0, total: 10, elapsed: 0, columns: 100}), /ETA --:--$/)
    assert.match(renderProgress({label: 'uploading', done: 10, total: 10, elapsed: 1, columns: 100}), /\[#+\] 100% 10 B\/10 B  10 B\/s  ETA --:--$/)
  })

  it('formats sizes in decimal units and durations as clock times', () => {
    assert.deepEqual([formatBytes(17), formatBytes(512_000), formatBytes(1.5e9)], ['17 B', '512.0 kB', '1.5 GB'])
    assert.deepEqual([formatSeconds(6.2), formatSeconds(754), formatSeconds(3723)], ['0:07', '12:34', '1:02:03'])
  })

  it('redraws in place at most every 100 ms and erases itself; writes nothing off a terminal', () => {
    const writes: string[] = []
    const tty = new TransferProgress('uploading', 100, {isTTY: true, columns: 60, write: (text) => writes.push(text)})
    for (let done = 1; done < 100; done++) tty.update(done)
    assert.equal(writes.length, 1, 'a burst of updates draws once')
    assert.match(writes[0]!, /^\ruploading \[/)
    tty.update(100)
    assert.equal(writes.length, 2, 'the final state is always drawn')
    tty.clear()
    assert.equal(writes.at(-1), '\r\x1b[K')

    const piped: string[] = []
    const pipe = new TransferProgress('uploading', 100, {isTTY: false, write: (text) => piped.push(text)})
    for (let done = 1; done <= 100; done++) pipe.update(done)
    pipe.clear()
    assert.deepEqual(piped, [])
  })
})
