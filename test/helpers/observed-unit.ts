/** A launcho unit as the lister reports it: an active, running instance of `web`, unless told otherwise. */
import type {ObservedUnit} from '../../src/systemd/manager.js'

export function observedUnit(version: string, overrides: Partial<ObservedUnit> = {}): ObservedUnit {
  return {
    name: `launcho-web-${version}.service`,
    process: 'web',
    version,
    activeState: 'active',
    subState: 'running',
    mainPid: 1,
    nRestarts: 0,
    result: 'success',
    execMainCode: 0,
    execMainStatus: 0,
    execMainStartUs: 1,
    stateChangeUs: 0,
    environment: [],
    ...overrides,
  }
}
