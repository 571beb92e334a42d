import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {EventLog} from '../../src/events.js'

describe('event log', () => {
  it('folds a failure repeated on every retry into one event with a count and the latest words', () => {
    const log = new EventLog()
    log.add('target-set', 'target set')
    log.addOrFold('start-failed', 'web failed to start: try 1', 'web')
    log.add('started', 'started api', 'api')
    log.addOrFold('start-failed', 'web failed to start: try 2', 'web')
    log.addOrFold('start-failed', 'web failed to start: try 3', 'web')
    assert.deepEqual(
      log.recent(10).map(({kind, process, message, repeated}) => ({kind, process, message, repeated})),
      [
        {kind: 'target-set', process: undefined, message: 'target set', repeated: undefined},
        {kind: 'started', process: 'api', message: 'started api', repeated: undefined},
        {kind: 'start-failed', process: 'web', message: 'web failed to start: try 3', repeated: 3},
      ],
    )
  })

  it('does not fold across another event of the same process', () => {
    const log = new EventLog()
    log.addOrFold('start-failed', 'failed', 'web')
    log.add('started', 'started', 'web')
    log.addOrFold('start-failed', 'failed', 'web')
    assert.deepEqual(log.recent(10).map((event) => [event.kind, event.repeated]), [['start-failed', undefined], ['started', undefined], ['start-failed', undefined]])
  })
})
