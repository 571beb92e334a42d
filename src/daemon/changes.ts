/**
 * What moving from one desired state to another does to each process, and why: which fields of
 * the target changed, which secrets changed (by name, never value), or a restart.
 */
import type {ProcessChange} from '../protocol/changes.js'
import type {DesiredProcess, DesiredState} from '../reconcile/desired.js'
import {canonicalJson} from '../target/version.js'

export type {ChangeKind, ProcessChange} from '../protocol/changes.js'

export function changesBetween(before: DesiredState, after: DesiredState): ProcessChange[] {
  const names = [...new Set([...before.keys(), ...after.keys()])].sort()
  return names.map((process) => {
    const old = before.get(process)
    const next = after.get(process)
    if (!old) return {process, change: 'start', to: next!.version, reasons: ['new in the target'], ...exposureChange(undefined, next)}
    if (!next) return {process, change: 'stop', from: old.version, reasons: ['removed from the target']}
    if (old.version === next.version) {
      if (old.replicas !== next.replicas) return {process, change: 'scale', from: old.version, to: next.version, reasons: [`replicas ${old.replicas} -> ${next.replicas}`]}
      return {process, change: 'unchanged', from: old.version, to: next.version}
    }
    return {process, change: 'replace', from: old.version, to: next.version, reasons: reasonsFor(old, next), ...exposureChange(old, next)}
  })
}

function exposureChange(old: DesiredProcess | undefined, next: DesiredProcess | undefined): Pick<ProcessChange, 'exposure'> {
  const summary = (process?: DesiredProcess) => process?.exposure && {score: process.exposure.score, rating: process.exposure.rating}
  const from = summary(old)
  const to = summary(next)
  return from || to ? {exposure: {...(from ? {from} : {}), ...(to ? {to} : {})}} : {}
}

function reasonsFor(old: DesiredProcess, next: DesiredProcess): string[] {
  const reasons: string[] = []
  const a = old.template as unknown as Record<string, unknown>
  const b = next.template as unknown as Record<string, unknown>
  for (const field of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (field === 'name' || field === 'env' || field === 'replicas' || field === 'maxSurge') continue
    if (canonicalJson(a[field] ?? null) !== canonicalJson(b[field] ?? null)) reasons.push(field)
  }
  const envKeys = new Set([...Object.keys(old.template.env), ...Object.keys(next.template.env)])
  for (const key of [...envKeys].sort()) {
    if (old.template.env[key] !== next.template.env[key]) reasons.push(`env.${key}`)
  }
  for (const name of Object.keys(next.secretDigests).sort()) {
    const before = old.secretDigests[name]
    if (before !== undefined && before !== next.secretDigests[name]) reasons.push(`secret ${name}`)
  }
  // A new server default moves processes that take it, with nothing changed in the target.
  if ((old.sandbox ?? 'none') !== (next.sandbox ?? 'none') && !reasons.includes('sandbox')) reasons.push('sandbox')
  if (old.generation !== next.generation) reasons.push('restart')
  return reasons
}

/**
 * `replace` becomes `adopt` where every replica of the new version already serves (an older
 * version kept serving after a failed rollout, say): going there starts nothing.
 */
export function markAdoptions(changes: ProcessChange[], after: DesiredState, serving: ReadonlySet<string>): ProcessChange[] {
  return changes.map((change) => {
    if (change.change !== 'replace') return change
    const units = after.get(change.process)?.units ?? []
    if (units.length === 0 || !units.every((unit) => serving.has(unit))) return change
    return {...change, change: 'adopt', reasons: ['already running', ...(change.reasons ?? [])]}
  })
}

/** History's lines for a release's changes (`web: replace (env.APP_VERSION, secret DB_URL)`), never a secret's value. */
export function changeLines(changes: ProcessChange[]): string[] {
  return changes
    .filter((change) => change.change !== 'unchanged')
    .map((change) => `${change.process}: ${change.change}${change.reasons?.length ? ` (${change.reasons.join(', ')})` : ''}`)
}
