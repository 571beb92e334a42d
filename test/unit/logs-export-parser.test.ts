import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {ExportParser, MAX_FIELD_BYTES} from '../../src/logs/export-parser.js'

const keep = new Set(['__REALTIME_TIMESTAMP', '_PID', 'MESSAGE'])

function binaryField(name: string, data: Buffer): Buffer {
  const size = Buffer.alloc(8)
  size.writeBigUInt64LE(BigInt(data.length))
  return Buffer.concat([Buffer.from(`${name}\n`), size, data, Buffer.from('\n')])
}

// Two entries as `journalctl -o export` writes them: the second's MESSAGE is not UTF-8 and holds
// a newline and an '=', so it comes length-prefixed.
const sample = Buffer.concat([
  Buffer.from('__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=1795310047559232\n_PID=34\nMESSAGE=hello = world é\n\n'),
  Buffer.from('__CURSOR=s=1;i=2\n__REALTIME_TIMESTAMP=1795310047559300\n'),
  binaryField('MESSAGE', Buffer.from([0xff, 0x0a, 0x3d, 0x62])),
  Buffer.from('_PID=35\n\n'),
])
const expected = [
  {__REALTIME_TIMESTAMP: '1795310047559232', _PID: '34', MESSAGE: 'hello = world é'},
  {__REALTIME_TIMESTAMP: '1795310047559300', _PID: '35', MESSAGE: '\uFFFD\n=b'},
]

describe('journalctl export format parser', () => {
  it('reads text and length-prefixed binary fields, keeping only the fields asked for', () => {
    assert.deepEqual(new ExportParser(keep).push(sample), expected)
  })

  it('gives the same entries however the output is cut into chunks', () => {
    for (let cut = 1; cut < sample.length; cut++) {
      const parser = new ExportParser(keep)
      const entries = [...parser.push(sample.subarray(0, cut)), ...parser.push(sample.subarray(cut))]
      assert.deepEqual(entries, expected, `cut at byte ${cut}`)
    }
    const parser = new ExportParser(keep)
    const byteByByte = [...sample].flatMap((byte) => parser.push(Buffer.from([byte])))
    assert.deepEqual(byteByByte, expected)
  })

  it('returns an entry only once its closing empty line has arrived', () => {
    const parser = new ExportParser(keep)
    assert.deepEqual(parser.push(Buffer.from('MESSAGE=a\n')), [])
    assert.deepEqual(parser.push(Buffer.from('\n')), [{MESSAGE: 'a'}])
  })

  it('refuses a field larger than the bound instead of buffering it', () => {
    const size = Buffer.alloc(8)
    size.writeBigUInt64LE(BigInt(MAX_FIELD_BYTES + 1))
    assert.throws(() => new ExportParser(keep).push(Buffer.concat([Buffer.from('MESSAGE\n'), size])), /larger than 16 MiB/)
    const parser = new ExportParser(keep)
    const noNewline = Buffer.alloc(1024 * 1024, 0x61)
    assert.throws(() => {
      for (let i = 0; i <= 16; i++) parser.push(noNewline)
    }, /larger than 16 MiB/)
  })
})
