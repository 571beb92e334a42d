/**
 * maxExposure: a process whose unit, as launcho would create it, scores worse than its limit (its
 * own, else the server's) is refused at `t set`, at its maxExposure line (or its name, for the
 * server's limit), naming what costs most, so that nothing more exposed than allowed ever starts.
 */
import type {DesiredState} from '../reconcile/desired.js'
import type {FieldIssue} from '../target/rules.js'
import type {Target} from '../target/schema.js'
import {describeExposure} from '../systemd/exposure.js'

export function exposureIssues(desired: DesiredState, template: Target, failure?: Error): FieldIssue[] {
  const issues: FieldIssue[] = []
  template.processes.forEach((written, i) => {
    const process = desired.get(written.name)
    const limit = process?.maxExposure
    if (!process || limit === undefined) return
    const whose = written.maxExposure !== undefined ? 'its' : "the server's"
    const path = written.maxExposure !== undefined ? ['processes', i, 'maxExposure'] : ['processes', i, 'name']
    const exposure = process.exposure
    if (!exposure) {
      const why = failure ? failure.message : 'its unit cannot be written as a unit file to measure'
      issues.push({path, message: `process "${written.name}": cannot measure its exposure for ${whose} maxExposure ${limit.toFixed(1)}: ${why}`})
      return
    }
    if (exposure.score <= limit) return
    const costs = exposure.costs.map((cost) => `${cost.setting} ${cost.exposure.toFixed(1)} (${cost.description})`).join(', ')
    const advice = process.sandbox === 'strict' ? '' : '; sandbox: strict scores about 2'
    issues.push({
      path,
      message: `process "${written.name}": its unit's exposure is ${describeExposure(exposure)}, above ${whose} maxExposure ${limit.toFixed(1)}; what costs most: ${costs}${advice}`,
    })
  })
  return issues
}
