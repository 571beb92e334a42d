/**
 * Targets `launcho t set` must refuse with the line (issue 10, findings 4, 9, 11, 12), shared by
 * the integration test and the reliability suite. Each is the same running process `web` plus one
 * bad process or service, so a refusal that disturbed what runs would show on `web`.
 */
import {createHash} from 'node:crypto'

export const WEB = `processes:
  - name: web
    command: ["sleep", "100000"]
    uid: nobody
`

export interface RefusalCase {
  name: string
  text: string
  /** The problem line after "FILE:", e.g. `7:10: processes[1].cwd: cwd must be …`. */
  line: string
}

export interface RefusalContext {
  /** The API's port (the server listens on 127.0.0.1:PORT). */
  apiPort: number
  /** A prefix two stored resources share, and their ids. */
  ambiguous?: {prefix: string; ids: string[]}
  /** A secret that holds a resource id nothing stores. */
  unstoredSecret?: string
}

/** WEB plus a process `bad` made of `lines` (YAML at process level), and `services` as written. */
export function withBad(lines: string, services = ''): string {
  return `${WEB}  - name: bad\n${lines.split('\n').map((line) => `    ${line}`).join('\n')}\n${services}`
}

/** `LINE:COLUMN` of the first `needle` in `text` (1-based, as the server reports YAML nodes). */
export function positionOf(text: string, needle: string): string {
  const at = text.indexOf(needle)
  if (at < 0) throw new Error(`${needle} not in the target`)
  const before = text.slice(0, at)
  return `${before.split('\n').length}:${at - before.lastIndexOf('\n')}`
}

function refusal(name: string, text: string, needle: string, field: string, message: string): RefusalCase {
  return {name, text, line: `${positionOf(text, needle)}: ${field}: ${message}`}
}

const cwdRule = 'cwd must be a normalised absolute path (no "." or ".." parts, no "//", no trailing "/")'
const relative = 'systemd runs only an absolute path or a bare name from its PATH'
const idRange = 'systemd takes 0-4294967294, except 65535'

export function refusalCases(ctx: RefusalContext): RefusalCase[] {
  const sleep = 'command: ["sleep", "1"]'
  const unstored = 'ab'.repeat(32)
  const cases = [
    refusal('relative command[0]', withBad('command: ["./server.sh"]'), '"./server.sh"', 'processes[1].command[0]', `command[0] is a relative path (got "./server.sh"): ${relative}; write its absolute path, or start it from the working directory with ["/bin/sh", "-c", "exec ./server.sh"]`),
    refusal('relative command[0] with a cwd', withBad('command: ["bin/server"]\ncwd: /srv/app'), '"bin/server"', 'processes[1].command[0]', `command[0] is a relative path (got "bin/server"): ${relative}; write "/srv/app/bin/server"`),
    refusal('empty command[0]', withBad('command: [""]'), '""', 'processes[1].command[0]', 'command[0] must not be empty: it names the program to run, e.g. "node" or "/usr/bin/node"'),
    refusal('relative health.command[0]', withBad(`${sleep}\nhealth: {command: ["./check"]}`), '"./check"', 'processes[1].health.command[0]', `health.command[0] is a relative path (got "./check"): ${relative}; write its absolute path, or start it from the working directory with ["/bin/sh", "-c", "exec ./check"]`),
    refusal('cwd with ".."', withBad(`${sleep}\ncwd: /srv/../tmp`), '/srv/../tmp', 'processes[1].cwd', `${cwdRule}: write "/tmp"`),
    refusal('cwd with "//" and a trailing "/"', withBad(`${sleep}\ncwd: /srv//app/`), '/srv//app/', 'processes[1].cwd', `${cwdRule}: write "/srv/app"`),
    refusal('uid 65535', withBad(`${sleep}\nuid: "65535"`), '"65535"', 'processes[1].uid', `uid 65535 is not a valid user id: ${idRange}`),
    refusal('uid 99999999999', withBad(`${sleep}\nuid: "99999999999"`), '"99999999999"', 'processes[1].uid', `uid 99999999999 is not a valid user id: ${idRange}`),
    refusal('gid 4294967295', withBad(`${sleep}\ngid: 4294967295`), '4294967295', 'processes[1].gid', `gid 4294967295 is not a valid group id: ${idRange}`),
    refusal('unknown user', withBad(`${sleep}\nuid: launcho-no-such-user`), 'launcho-no-such-user', 'processes[1].uid', 'no user "launcho-no-such-user" on this server'),
    refusal('numeric uid without a passwd entry', withBad(`${sleep}\nuid: 3999999999`), '3999999999', 'processes[1].uid', 'no user "3999999999" on this server (systemd needs a passwd entry for a number too)'),
    refusal('unknown group', withBad(`${sleep}\ngid: launcho-no-such-group`), 'launcho-no-such-group', 'processes[1].gid', 'no group "launcho-no-such-group" on this server'),
    refusal('memoryMax 99999999999T', withBad(`${sleep}\nmemoryMax: 99999999999T`), '99999999999T', 'processes[1].memoryMax', 'memoryMax must be at most 1024T (1 PiB); leave it out for no limit'),
    refusal('resource not stored', withBad(`${sleep}\nresources: [{id: "${unstored}", file: app.tar}]`), `"${unstored}"`, 'processes[1].resources[0].id', `no resource with the id ${unstored} is stored; upload it with "launcho resource up FILE" ("launcho resource ls" lists the stored ones)`),
    refusal('service on the API address', withBad(sleep, `services:\n  - name: api\n    on: "127.0.0.1:${ctx.apiPort}"\n`), `"127.0.0.1:${ctx.apiPort}"`, 'services[0].on', `127.0.0.1:${ctx.apiPort} is the launcho API's own address (the server listens on 127.0.0.1:${ctx.apiPort}); pick another port`),
    refusal('service on 0.0.0.0 at the API port', withBad(sleep, `services:\n  - name: api\n    on: "0.0.0.0:${ctx.apiPort}"\n`), `"0.0.0.0:${ctx.apiPort}"`, 'services[0].on', `0.0.0.0:${ctx.apiPort} is the launcho API's own address (the server listens on 127.0.0.1:${ctx.apiPort}); pick another port`),
    refusal('service port in the portRange', withBad(sleep, 'services:\n  - name: ports\n    on: "127.0.0.1:20001"\n'), '"127.0.0.1:20001"', 'services[0].on', "port 20001 is inside the server's portRange 20000-29999, from which instances get their SERVICE_PORT_* ports; pick a port outside it"),
    refusal('newline in cwd', withBad(`${sleep}\ncwd: "/srv\\nNice=7"`), '"/srv', 'processes[1].cwd', 'cwd must not contain control characters: found a newline (U+000A)'),
    refusal('carriage return in before', withBad(`${sleep}\nbefore: "echo ok\\r"`), '"echo ok', 'processes[1].before', 'before must not contain control characters other than newlines and tabs: found a carriage return (U+000D)'),
  ]
  if (ctx.ambiguous) {
    const {prefix, ids} = ctx.ambiguous
    cases.push(refusal('ambiguous resource prefix', withBad(`${sleep}\nresources: [{id: "${prefix}", file: app.tar}]`), `"${prefix}"`, 'processes[1].resources[0].id', `the id prefix ${prefix} is ambiguous: it matches 2 stored resources (${[...ids].sort().join(', ')}); write more of its digits`))
  }
  if (ctx.unstoredSecret) {
    const name = ctx.unstoredSecret
    cases.push(refusal('resource id from a secret, not stored', withBad(`${sleep}\nresources: [{id: "\${${name}}", file: app.tar}]`), `"\${${name}}"`, `processes[1].resources[0].id (from secret ${name})`, 'no such resource is stored; upload it with "launcho resource up FILE" and set the secret to the id it prints'))
  }
  return cases
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** Two texts whose SHA-256 ids share their first 8 hex digits (a birthday search over ~2^16). */
export function collidingContents(tag: string): [string, string] {
  const seen = new Map<string, string>()
  for (let i = 0; ; i++) {
    const text = `${tag}-${i}\n`
    const prefix = sha256(text).slice(0, 8)
    const other = seen.get(prefix)
    if (other !== undefined) return [other, text]
    seen.set(prefix, text)
  }
}
