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

describe('event sequence numbers and subscribers', () => {
  it('numbers events in order; a folded repeat takes a new number, so a follower resuming after the old one sees it', () => {
    const log = new EventLog()
    const first = log.add('target-set', 'target set')
    const failed = log.addOrFold('start-failed', 'try 1', 'web')
    assert.deepEqual([first.seq, failed.seq, log.lastSeq()], [1, 2, 2])
    const folded = log.addOrFold('start-failed', 'try 2', 'web')
    assert.equal(folded.seq, 3)
    assert.deepEqual(log.after(2).map((event) => [event.seq, event.message, event.repeated]), [[3, 'try 2', 2]])
    assert.deepEqual(log.after(0).map((event) => event.seq), [1, 3])
  })

  it('takes a number this server never issued (a follower of its previous run) as "from the oldest kept"', () => {
    const log = new EventLog()
    log.add('started', 'a', 'web')
    log.add('serving', 'b', 'web')
    assert.deepEqual(log.after(900).map((event) => event.message), ['a', 'b'])
    assert.deepEqual(log.after(2), [])
  })

  it('keeps only the newest events within its capacity', () => {
    const log = new EventLog(3)
    for (let i = 1; i <= 5; i++) log.add('started', `e${i}`, 'web')
    assert.deepEqual(log.after(0).map((event) => event.seq), [3, 4, 5])
  })

  it('tells subscribers of each new event until they unsubscribe; a throwing one is dropped, the event still kept', () => {
    const log = new EventLog()
    const seen: number[] = []
    const unsubscribe = log.subscribe((event) => seen.push(event.seq))
    log.subscribe(() => {
      throw new Error('broken stream')
    })
    log.add('started', 'a', 'web')
    log.addOrFold('start-failed', 'b', 'web')
    unsubscribe()
    log.add('stopped', 'c', 'web')
    assert.deepEqual(seen, [1, 2])
    assert.equal(log.recent(10).length, 3)
  })

  it('redacts a folded message too', () => {
    const log = new EventLog(10, (text) => text.replaceAll('hunter2', '${PASS}'))
    log.addOrFold('start-failed', 'failed: hunter2', 'web')
    log.addOrFold('start-failed', 'failed again: hunter2', 'web')
    assert.equal(log.recent(1)[0]!.message, 'failed again: ${PASS}')
  })
})
