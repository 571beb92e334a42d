import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {argvTemplateOf, renderArgv} from '../../src/target/argv-ports.js'
import {substituteString} from '../../src/target/substitute.js'

const secrets = new Map([
  ['TOKEN', 'x${SERVICE_PORT_WEB}y'],
  ['WORD', '$SERVICE_PORT_WEB'],
])
const ports = {SERVICE_PORT_WEB: '20001', SERVICE_PORT_ADMIN_API: '20002'}

/** What launcho renders for an argv as written in the target. */
function render(words: string[]): string[] {
  const resolved = words.map((word) => substituteString(word, secrets).value)
  return renderArgv(argvTemplateOf(words, resolved, secrets), ports)
}

describe('launcho variables in argv', () => {
  it('replaces a word that is exactly $SERVICE_PORT_<NAME>', () => {
    assert.deepEqual(render(['python3', '-m', 'http.server', '$SERVICE_PORT_WEB']), ['python3', '-m', 'http.server', '20001'])
    assert.deepEqual(render(['$SERVICE_PORT_ADMIN_API']), ['20002'])
  })

  it('replaces ${SERVICE_PORT_<NAME>} (written $${…}) anywhere in a word', () => {
    assert.deepEqual(render(['--listen=127.0.0.1:$${SERVICE_PORT_WEB}', '$${SERVICE_PORT_WEB}/$${SERVICE_PORT_ADMIN_API}']), [
      '--listen=127.0.0.1:20001',
      '20001/20002',
    ])
  })

  it('passes every other $ as written: no env expansion, no $$ collapsing, no word splitting', () => {
    const words = ['a$$b', '$V', '$${V}', '--port=$SERVICE_PORT_WEB', '$SERVICE_PORT_WEB.x', '$HOME', '$(id)', '`id`', 'a;b']
    assert.deepEqual(render(words), ['a$$b', '$V', '${V}', '--port=$SERVICE_PORT_WEB', '$SERVICE_PORT_WEB.x', '$HOME', '$(id)', '`id`', 'a;b'])
  })

  it('leaves a port the instance does not have as written', () => {
    assert.deepEqual(render(['$SERVICE_PORT_DB', '$${SERVICE_PORT_DB}']), ['$SERVICE_PORT_DB', '${SERVICE_PORT_DB}'])
  })

  it('never looks inside a secret value', () => {
    assert.deepEqual(render(['${TOKEN}', '${WORD}', 'a-${TOKEN}-$${SERVICE_PORT_WEB}']), [
      'x${SERVICE_PORT_WEB}y',
      '$SERVICE_PORT_WEB',
      'a-x${SERVICE_PORT_WEB}y-20001',
    ])
  })
})
