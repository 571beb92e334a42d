/**
 * What only the server can judge about a target, checked when it is set so that nothing fails
 * later at every start: each user and group exists on this host (systemd 252 refuses to start a
 * unit whose User= or Group= NSS does not know, numeric ids included), each resource id or prefix
 * names exactly one stored resource (the desired state then keeps its full id), and no service
 * takes the API's own address or a port of the SERVICE_PORT range.
 */
import type {Problem} from '../errors.js'
import {labelledField, secretsAt} from './field-label.js'
import type {FieldPositions} from './load.js'
import {formatPath, type FieldIssue} from './rules.js'
import type {Target} from './schema.js'
import {socketsOverlap, splitHostPort, type HostPort} from './socket-overlap.js'
import type {FieldPath} from './substitute.js'

export interface ServerFacts {
  /** Full ids of the stored resources a full id or prefix names (one when it is unambiguous). */
  resourcesMatching(ref: string): Promise<string[]>
  /** The given user names or numbers that exist on this host; undefined when it cannot tell. */
  knownUsers(keys: string[]): Promise<ReadonlySet<string> | undefined>
  knownGroups(keys: string[]): Promise<ReadonlySet<string> | undefined>
  /** Where the API listens (its real port, also when configured as 0). */
  api?: HostPort
  /** Where SERVICE_PORT_* ports come from. */
  portRange?: {first: number; last: number}
}

/**
 * `set`: every check, for a target being set (or re-validated by a secret change or a restart).
 * `restore`: the stored target at server start, which was accepted before: only full ids are
 * looked up again, and what cannot be resolved is left as written rather than stopping anything.
 */
export type ServerCheckMode = 'set' | 'restore'

export interface ServerCheckResult {
  /** `resolved` with every resource id that names one stored resource replaced by its full id. */
  resolved: Target
  issues: FieldIssue[]
}

export async function checkOnServer(
  loaded: {template: Target; resolved: Target},
  facts: ServerFacts,
  mode: ServerCheckMode,
): Promise<ServerCheckResult> {
  const {template, resolved} = loaded
  const issues: FieldIssue[] = []
  /** Values from a secret are described, never shown. */
  const literal = (path: FieldPath) => secretsAt(template, path).length === 0
  const processes = await Promise.all(
    resolved.processes.map(async (process, i) => ({
      ...process,
      resources: await Promise.all(
        process.resources.map(async (resource, j) => {
          const path: FieldPath = ['processes', i, 'resources', j, 'id']
          const matches = await facts.resourcesMatching(resource.id)
          if (matches.length === 1) return {...resource, id: matches[0]!}
          if (mode === 'set') issues.push({path, message: resourceProblem(resource.id, matches, literal(path))})
          return resource
        }),
      ),
    })),
  )
  if (mode === 'set') {
    issues.push(...(await ownerIssues(resolved, facts, literal)))
    issues.push(...serviceIssues(resolved, facts))
  }
  return {resolved: {processes, services: resolved.services}, issues}
}

/** The issues as problems with line, column and field (naming the secrets a value came from). */
export function serverProblems(loaded: {template: Target; positions: FieldPositions}, issues: FieldIssue[]): Problem[] {
  return issues.map((issue) => ({...loaded.positions[formatPath(issue.path)], field: labelledField(loaded.template, issue.path), message: issue.message}))
}

function resourceProblem(ref: string, matches: string[], quote: boolean): string {
  if (matches.length === 0) {
    return quote
      ? `no resource with the id ${ref} is stored; upload it with "launcho resource up FILE" ("launcho resource ls" lists the stored ones)`
      : 'no such resource is stored; upload it with "launcho resource up FILE" and set the secret to the id it prints'
  }
  // The matching ids would tell a secret's value: they start with it.
  if (!quote) return `the id prefix is ambiguous: it matches ${matches.length} stored resources; put more of its digits in the secret`
  const shown = matches.slice(0, 3).join(', ') + (matches.length > 3 ? ', …' : '')
  return `the id prefix ${ref} is ambiguous: it matches ${matches.length} stored resources (${shown}); write more of its digits`
}

async function ownerIssues(target: Target, facts: ServerFacts, literal: (path: FieldPath) => boolean): Promise<FieldIssue[]> {
  const issues: FieldIssue[] = []
  for (const [key, kind] of [['uid', 'user'], ['gid', 'group']] as const) {
    const used = target.processes.map((process, i) => ({value: process[key], path: ['processes', i, key] as FieldPath}))
    const wanted = [...new Set(used.flatMap(({value}) => (value === undefined ? [] : [value])))]
    if (wanted.length === 0) continue
    const known = await (key === 'uid' ? facts.knownUsers(wanted) : facts.knownGroups(wanted))
    if (!known) continue
    for (const {value, path} of used) {
      if (value === undefined || known.has(value)) continue
      const numeric = /^\d+$/.test(value) ? ` (systemd needs a ${key === 'uid' ? 'passwd' : 'group'} entry for a number too)` : ''
      const message = literal(path) ? `no ${kind} "${value}" on this server${numeric}` : `no such ${kind} on this server`
      issues.push({path, message})
    }
  }
  return issues
}

function serviceIssues(target: Target, facts: ServerFacts): FieldIssue[] {
  const issues: FieldIssue[] = []
  target.services.forEach((service, i) => {
    const path: FieldPath = ['services', i, 'on']
    const address = splitHostPort(service.on)
    const {api, portRange: range} = facts
    if (api && socketsOverlap(address, api)) {
      const listen = `${api.host.includes(':') ? `[${api.host}]` : api.host}:${api.port}`
      issues.push({path, message: `${service.on} is the launcho API's own address (the server listens on ${listen}); pick another port`})
    } else if (range && address.port >= range.first && address.port <= range.last) {
      const message = `port ${address.port} is inside the server's portRange ${range.first}-${range.last}, from which instances get their SERVICE_PORT_* ports; pick a port outside it`
      issues.push({path, message})
    }
  })
  return issues
}
