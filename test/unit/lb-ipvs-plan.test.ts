import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {Backend, ServiceTable} from '../../src/lb/balancer.js'
import {desiredIpvs, parseIpvsList, parseIpvsSave, planIpvs, renderIpvsadm, renderRestore, type IpvsService} from '../../src/lb/ipvs.js'
import {withConnections} from '../../src/lb/ipvs-table.js'

const saved = `-A -t 127.0.0.1:5000 -s wrr
-a -t 127.0.0.1:5000 -r 127.0.0.1:20001 -m -w 1
-a -t 127.0.0.1:5000 -r 127.0.0.1:20002 -m -w 3
-A -t 10.0.0.5:443 -s rr -p 300
-a -t 10.0.0.5:443 -r 10.0.0.7:443 -g -w 1
-A -u 10.0.0.5:53 -s rr
-A -f 7 -s wlc
`
const listed = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  127.0.0.1:5000 wrr
  -> 127.0.0.1:20001              Masq    1      4          2
  -> 127.0.0.1:20002              Masq    3      0          7
TCP  10.0.0.5:443 rr persistent 300
  -> 10.0.0.7:443                 Route   1      1          0
`
const b = (port: number, weight = 1): Backend => ({host: '127.0.0.1', port, weight})
const web = (...backends: Backend[]): ServiceTable => ({name: 'web', on: {host: '127.0.0.1', port: 5000}, backends})
const owned = new Set(['127.0.0.1:5000'])
const argv = (current: IpvsService[], tables: ServiceTable[], own: ReadonlySet<string> = owned) =>
  planIpvs(current, desiredIpvs(tables), own).map(renderIpvsadm)

describe('ipvs: reading the kernel table', () => {
  it('parses ipvsadm -S -n: services of every kind, scheduler, options, forwarding and weights', () => {
    const table = parseIpvsSave(saved)
    assert.deepEqual(table.map((s) => [s.protocol, s.address, s.scheduler, s.options.join(' ')]), [
      ['tcp', '127.0.0.1:5000', 'wrr', ''],
      ['tcp', '10.0.0.5:443', 'rr', '-p 300'],
      ['udp', '10.0.0.5:53', 'rr', ''],
      ['fwmark', '7', 'wlc', ''],
    ])
    assert.deepEqual(table[0].reals, [
      {address: '127.0.0.1:20001', forward: 'masq', weight: 1},
      {address: '127.0.0.1:20002', forward: 'masq', weight: 3},
    ])
    assert.deepEqual(table[1].reals, [{address: '10.0.0.7:443', forward: 'gate', weight: 1}])
    assert.deepEqual(parseIpvsSave(''), [])
  })

  it('parses ActiveConn and InActConn from ipvsadm -L -n and merges them into the table', () => {
    assert.deepEqual(parseIpvsList(listed).get('tcp:127.0.0.1:5000')?.get('127.0.0.1:20001'), {active: 4, inactive: 2})
    const merged = withConnections(parseIpvsSave(saved), listed)
    assert.deepEqual(merged[0].reals[1], {address: '127.0.0.1:20002', forward: 'masq', weight: 3, active: 0, inactive: 7})
  })
})

describe('ipvs: the plan and its exact ipvsadm commands', () => {
  it('adds a missing service and its real servers, wrr and masquerading', () => {
    assert.deepEqual(argv([], [web(b(20001), b(20002, 2))]), [
      ['ipvsadm', '-A', '-t', '127.0.0.1:5000', '-s', 'wrr'],
      ['ipvsadm', '-a', '-t', '127.0.0.1:5000', '-r', '127.0.0.1:20001', '-m', '-w', '1'],
      ['ipvsadm', '-a', '-t', '127.0.0.1:5000', '-r', '127.0.0.1:20002', '-m', '-w', '2'],
    ])
  })

  it('does nothing when the kernel already matches (foreign services included)', () => {
    assert.deepEqual(argv(parseIpvsSave(saved), [web(b(20001), b(20002, 3))]), [])
  })

  it('adds before it removes, so a swapped backend never leaves the service empty', () => {
    assert.deepEqual(argv(parseIpvsSave(saved), [web(b(20001), b(20003))]), [
      ['ipvsadm', '-a', '-t', '127.0.0.1:5000', '-r', '127.0.0.1:20003', '-m', '-w', '1'],
      ['ipvsadm', '-e', '-t', '127.0.0.1:5000', '-r', '127.0.0.1:20002', '-m', '-w', '0'],
    ])
  })

  it('a real the table no longer has drains like a weight-0 one: deleted only once ActiveConn is 0', () => {
    // IPVS drops the packets of a connection whose real server is deleted: a request in flight would hang.
    const swapped = [web(b(20001), b(20003))]
    const atZero = parseIpvsSave(saved.replace('20002 -m -w 3', '20002 -m -w 0').replace('20001 -m -w 1\n', '20001 -m -w 1\n-a -t 127.0.0.1:5000 -r 127.0.0.1:20003 -m -w 1\n'))
    assert.deepEqual(argv(atZero, swapped), [], 'connections unknown: wait')
    assert.deepEqual(argv(withConnections(atZero, listed.replace('Masq    3      0', 'Masq    0      2')), swapped), [], 'still active: wait')
    assert.deepEqual(argv(withConnections(atZero, listed.replace('Masq    3      0', 'Masq    0      0')), swapped), [['ipvsadm', '-d', '-t', '127.0.0.1:5000', '-r', '127.0.0.1:20002']])
  })

  it('re-weights with -e', () => {
    assert.deepEqual(argv(parseIpvsSave(saved), [web(b(20001, 5), b(20002, 3))]), [
      ['ipvsadm', '-e', '-t', '127.0.0.1:5000', '-r', '127.0.0.1:20001', '-m', '-w', '5'],
    ])
  })

  it('drains to weight 0, deletes once ActiveConn is 0, and never re-adds a drained server', () => {
    const draining = [web(b(20001), b(20002, 0))]
    assert.deepEqual(argv(parseIpvsSave(saved), draining), [['ipvsadm', '-e', '-t', '127.0.0.1:5000', '-r', '127.0.0.1:20002', '-m', '-w', '0']])
    const atZero = parseIpvsSave(saved.replace('20002 -m -w 3', '20002 -m -w 0'))
    // Connections unknown (no -L read) or still active: keep waiting.
    assert.deepEqual(argv(atZero, draining), [])
    assert.deepEqual(argv(withConnections(atZero, listed.replace('Masq    3      0', 'Masq    0      2')), draining), [])
    // ActiveConn 0 (InActConn 7 are closing connections, which IPVS keeps serving): delete.
    assert.deepEqual(argv(withConnections(atZero, listed), draining), [['ipvsadm', '-d', '-t', '127.0.0.1:5000', '-r', '127.0.0.1:20002']])
    const gone = parseIpvsSave('-A -t 127.0.0.1:5000 -s wrr\n-a -t 127.0.0.1:5000 -r 127.0.0.1:20001 -m -w 1\n')
    assert.deepEqual(argv(gone, draining), [])
  })

  it('removes an owned service that is no longer wanted, and never one it does not own', () => {
    const current = parseIpvsSave(saved)
    assert.deepEqual(argv(current, []), [['ipvsadm', '-D', '-t', '127.0.0.1:5000']])
    assert.deepEqual(argv(current, [], new Set()), [])
    // Owning an address as TCP says nothing about a UDP service on it.
    assert.deepEqual(argv(current, [], new Set(['10.0.0.5:53'])), [])
  })

  it('takes over a wanted address: fixes scheduler, options and forwarding', () => {
    const tables: ServiceTable[] = [{name: 'tls', on: {host: '10.0.0.5', port: 443}, backends: [{host: '10.0.0.7', port: 443, weight: 1}]}]
    assert.deepEqual(argv(parseIpvsSave(saved), tables, new Set()), [
      ['ipvsadm', '-E', '-t', '10.0.0.5:443', '-s', 'wrr'],
      ['ipvsadm', '-e', '-t', '10.0.0.5:443', '-r', '10.0.0.7:443', '-m', '-w', '1'],
    ])
  })

  it('renders a batch for ipvsadm -R: one command per line, same arguments', () => {
    const operations = planIpvs([], desiredIpvs([web(b(20001))]), owned)
    assert.equal(renderRestore(operations), '-A -t 127.0.0.1:5000 -s wrr\n-a -t 127.0.0.1:5000 -r 127.0.0.1:20001 -m -w 1\n')
    assert.equal(renderRestore([]), '')
  })
})
