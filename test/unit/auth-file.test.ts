/**
 * The client auth file is read without the YAML parser when it is exactly as print-auth writes
 * it; whatever else a user saved goes through the parser. Either way the result (or the refusal)
 * must be what the YAML parser makes of the same text.
 */
import assert from 'node:assert/strict'
import {before, describe, it} from 'node:test'
import {parseDocument} from 'yaml'
import {generate} from 'selfsigned'
import {parseAuthFile, renderAuthFile} from '../../src/api/auth-file.js'
import {LaunchoError} from '../../src/errors.js'

const TOKEN = 'a'.repeat(40) + '0123456789abcdef01234567'

let cert = ''
before(async () => {
  cert = (await generate([{name: 'commonName', value: 'launcho'}], {keySize: 2048, algorithm: 'sha256'})).cert
})

const canonical = () => renderAuthFile({host: '127.0.0.1:12888', cert, private: null, token: TOKEN}, 'Paste this into ~/.launcho/launcho-client-auth.yaml on the client machine')

/** What the file means to a YAML reader, run through the same field checks. */
function viaYaml(text: string): unknown {
  const data = parseDocument(text).toJS() as Record<string, unknown>
  return {private: null, ...data, cert: `${String(data.cert).trim()}\n`}
}

function refusal(text: string): string {
  try {
    parseAuthFile(text, 'auth.yaml')
  } catch (error) {
    assert.ok(error instanceof LaunchoError)
    return error.message
  }
  assert.fail('the file was accepted')
}

describe('client auth file', () => {
  it('reads the file print-auth writes as a YAML reader does', () => {
    const text = canonical()
    assert.deepEqual(parseAuthFile(text, 'auth.yaml'), viaYaml(text))
  })

  it('reads hand-edited variants the same as YAML does', () => {
    const text = canonical()
    const variants = [
      text.replace(/^#.*\n/, ''),
      text.replace(`token: ${TOKEN}`, `token: "${TOKEN}"`),
      text.replace(/\n/g, '\r\n'),
      text.replace('host: "127.0.0.1:12888"', "host: '127.0.0.1:12888'"),
      `${text}\n# trailing comment\n`,
      text.replace(/^(host: .*)\n([\s\S]*?)(private: null\n)/m, '$3$2$1\n'),
      text.replace('private: null\n', ''),
    ]
    for (const variant of variants) assert.deepEqual(parseAuthFile(variant, 'auth.yaml'), viaYaml(variant), variant)
  })

  it('refuses what YAML reads as a number or with another indentation, as before', () => {
    const text = canonical()
    assert.match(refusal(text.replace(`token: ${TOKEN}`, `token: ${'1'.repeat(64)}`)), /token: must be 64 hex characters/)
    assert.match(refusal(text.replace(`token: ${TOKEN}`, 'token: 1e10')), /token: must be 64 hex characters/)
    assert.match(refusal(text.replace('-----BEGIN', '   -----BEGIN')), /invalid auth file auth\.yaml/)
    assert.match(refusal(text.replace('host: "127.0.0.1:12888"', 'host: "127.0.0.1:99999"')), /host: port must be between 1 and 65535/)
  })
})
