/**
 * Decides how the latest release's rollout ended, the way a waiting `t set` does
 * (protocol/rollout-progress.ts over `status`): serving once every process it changed serves its
 * new version (or is stopped), failed with the reasons once one failed — the reconciler's own
 * verdict (a failed rollout in `status`, e.g. never healthy, or a hook that failed), a crash loop
 * or a start that keeps failing. It looks after each burst of events and every second while the
 * release rolls out, so a release still rolling out when the server restarted is settled again.
 */
import type {Logger} from 'pino'
import type {EventLog} from '../events.js'
import {progressOf} from '../protocol/rollout-progress.js'
import type {StatusReport} from '../protocol/status.js'
import type {ReleaseStore} from '../store/release-store.js'

const LOOK_EVERY_MS = 1_000
/** Events come in bursts (a start is several, a rollout of 1000 processes thousands): one look per burst, at most 4 a second. */
const SETTLE_MS = 250

export class ReleaseWatch {
  private timer?: NodeJS.Timeout
  private soonTimer?: NodeJS.Timeout
  private judging?: Promise<void>
  private again = false
  private readonly unsubscribe: () => void

  constructor(
    private readonly releases: ReleaseStore,
    private readonly status: () => Promise<StatusReport>,
    private readonly events: EventLog,
    private readonly logger: Logger,
  ) {
    this.unsubscribe = events.subscribe((event) => {
      if (event.kind !== 'release') this.soon()
    })
  }

  start(): void {
    this.timer = setInterval(() => this.soon(), LOOK_EVERY_MS)
    this.soon()
  }

  /**
   * Judges the latest release now if it still rolls out, so that a read of the releases right
   * after a deploy that ended (`rollback` returned, then `history`) sees its verdict, not the
   * look due in up to a second.
   */
  async settle(): Promise<void> {
    if (this.releases.latest()?.outcome.state !== 'rolling-out') return
    while (this.judging) await this.judging
    await this.judge()
  }

  async stop(): Promise<void> {
    this.unsubscribe()
    clearInterval(this.timer)
    clearTimeout(this.soonTimer)
    await this.judging
  }

  private soon(): void {
    if (this.soonTimer || this.releases.latest()?.outcome.state !== 'rolling-out') return
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined
      void this.judge()
    }, SETTLE_MS)
  }

  /** One judgement at a time; a request during one runs once more after it. */
  private async judge(): Promise<void> {
    if (this.judging) {
      this.again = true
      return
    }
    this.judging = this.judgeOnce()
      .catch((error: Error) => this.logger.warn({err: error.message}, 'could not judge the rollout of the latest release; looking again'))
      .finally(() => (this.judging = undefined))
    await this.judging
    if (this.again) {
      this.again = false
      this.soon()
    }
  }

  private async judgeOnce(): Promise<void> {
    const release = this.releases.latest()
    if (release?.outcome.state !== 'rolling-out') return
    const report = await this.status()
    const byName = new Map(report.processes.map((process) => [process.name, process]))
    const progress = release.follow.map((change) => progressOf(change, byName.get(change.process)))
    // A newer release came while status was read: it follows what is left of this one.
    if (this.releases.latest()?.number !== release.number) return
    const unsettled = progress.filter((one) => one.outcome === undefined)
    this.releases.noteUnsettled(release.number, unsettled.map((one) => one.process))
    if (unsettled.length > 0) return
    const failures = progress.filter((one) => one.outcome === 'failed')
    const at = new Date().toISOString()
    if (failures.length === 0) {
      if (await this.releases.setOutcome(release.number, {state: 'serving', at})) this.events.add('release', `release ${release.number} serving`)
      return
    }
    const reason = failures.map((one) => `${one.process}: ${one.reason}`).join('; ')
    if (await this.releases.setOutcome(release.number, {state: 'failed', reason, at})) {
      const serving = this.releases.lastServing(release.number)
      this.events.add('release', `release ${release.number} failed: ${reason}${serving ? `; serving release ${serving.number}` : ''}`)
    }
  }
}
