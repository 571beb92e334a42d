/**
 * Why a start failed in its `afterStart` hook (ExecStartPost=), from systemd's structured facts of
 * that run (systemd/exec-runs.ts): the unit's Result, and the hook's own exit code or signal. The
 * main process is then killed by systemd (SIGTERM), so its own exit says nothing about why.
 */
import {constants} from 'node:os'
import type {StartRuns} from '../systemd/exec-runs.js'

const CLD_EXITED = 1
const CLD_DUMPED = 3

const signalNames = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name.replace(/^SIG/, '')]))

/**
 * "afterStart exited 3", "afterStart was killed by signal 9/KILL", "afterStart did not finish within
 * the start timeout (300s)"; undefined when the hook did not fail the current (or last) run: it
 * succeeded, still runs, or ran for an earlier main process.
 */
export function describeAfterStartFailure(runs: StartRuns, startTimeoutMs: number): string | undefined {
  if (runs.result === 'success') return undefined
  const failed = runs.afterStart.find(
    (run) => run.startUs > 0 && run.startUs >= runs.mainStartUs && run.exitUs > 0 && !(run.code === CLD_EXITED && run.status === 0),
  )
  if (!failed) return undefined
  if (runs.result === 'timeout') return `afterStart did not finish within the start timeout (${startTimeoutMs / 1000}s)`
  if (failed.code === CLD_EXITED) return `afterStart exited ${failed.status}`
  const signal = `${failed.status}/${signalNames.get(failed.status) ?? '?'}`
  return `afterStart was killed by signal ${signal}${failed.code === CLD_DUMPED ? ' (core dumped)' : ''}`
}
