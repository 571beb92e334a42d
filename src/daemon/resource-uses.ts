/**
 * Where the target as set uses each stored resource: full id → the processes that list it, each
 * with the line and field of its listing, so that `resource rm` can refuse naming them.
 */
import {LaunchoError, type Problem} from '../errors.js'
import type {LoadedTarget, Target} from '../target/load.js'
import {serverProblems} from '../target/server-rules.js'

export interface ResourceUse {
  process: string
  /** Line, column and field in the target as set (`launcho t get`). */
  where: Problem
}

export type ResourceUses = ReadonlyMap<string, ResourceUse[]>

/** `resolved`: the target with each resource id resolved to the full id it names. */
export function resourceUsesOf(loaded: LoadedTarget, resolved: Target): ResourceUses {
  const uses = new Map<string, ResourceUse[]>()
  resolved.processes.forEach((process, i) => {
    process.resources.forEach((resource, j) => {
      const [where] = serverProblems(loaded, [{path: ['processes', i, 'resources', j, 'id'], message: `process ${process.name} lists it`}])
      uses.set(resource.id, [...(uses.get(resource.id) ?? []), {process: process.name, where: where!}])
    })
  })
  return uses
}

export function resourceInUse(id: string, uses: ResourceUse[]): LaunchoError {
  const names = [...new Set(uses.map((use) => use.process))].sort()
  return new LaunchoError('conflict', `resource ${id} is used by the target's process${names.length > 1 ? 'es' : ''} ${names.join(', ')}; it was not removed`, {
    hint: 'set a target (launcho t set) in which no process lists it under resources, then remove it (the lines are those of "launcho t get")',
    problems: uses.map((use) => use.where),
  })
}

export function resourceKeptFor(id: string, releases: number[], keep: number): LaunchoError {
  const which = releases.length === 1 ? `release ${releases[0]}` : `releases ${releases.join(', ')}`
  return new LaunchoError('conflict', `resource ${id} is kept for ${which} (launcho rollback can go back to ${releases.length === 1 ? 'it' : 'them'}); it was not removed`, {
    hint: `the server keeps the last ${keep} releases (its "releases" setting); once no kept release lists the resource it can be removed ("launcho history" shows them)`,
  })
}
