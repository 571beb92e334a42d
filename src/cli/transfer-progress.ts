/**
 * A one-line progress bar for resource transfers on a terminal: bytes done of total, rate and
 * time left, redrawn in place at most 10 times a second and erased at the end. Off a terminal
 * (a pipe, a file) it writes nothing at all, so scripts see only the command's own output.
 */

const REDRAW_MS = 100
const MIN_WIDTH = 20

export interface ProgressLine {
  label: string
  done: number
  total: number
  /** Seconds since the transfer started. */
  elapsed: number
  /** Terminal columns. */
  columns: number
}

/** The line for `state`, at most `columns` characters wide (no newline). */
export function renderProgress({label, done, total, elapsed, columns}: ProgressLine): string {
  const rate = elapsed > 0 ? done / elapsed : 0
  const left = rate > 0 && total > done ? (total - done) / rate : undefined
  const fraction = total > 0 ? Math.min(done / total, 1) : 1
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4)
  const figures = `${percent} ${formatBytes(done)}/${formatBytes(total)}  ${formatBytes(rate)}/s  ETA ${left === undefined ? '--:--' : formatSeconds(left)}`
  const barWidth = columns - label.length - figures.length - 4
  if (barWidth < 10) return `${label} ${figures}`.slice(0, Math.max(columns - 1, MIN_WIDTH))
  const filled = Math.round(fraction * barWidth)
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${figures}`
}

/** 1.5 GB, 85.0 MB, 512 kB, 17 B: decimal units, as the README's throughput figures. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`
}

/** 0:07, 12:34, 1:02:03. */
export function formatSeconds(seconds: number): string {
  const whole = Math.ceil(seconds)
  const h = Math.floor(whole / 3600)
  const m = Math.floor((whole % 3600) / 60)
  const s = String(whole % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

export interface ProgressStream {
  isTTY?: boolean
  columns?: number
  write(text: string): unknown
}

export class TransferProgress {
  private readonly started = Date.now()
  private lastDraw = 0
  private drawn = false

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: ProgressStream = process.stderr,
  ) {}

  get enabled(): boolean {
    return this.out.isTTY === true
  }

  /** `done` bytes so far; draws only on a terminal and at most every REDRAW_MS. */
  update(done: number): void {
    if (!this.enabled) return
    const now = Date.now()
    if (this.drawn && now - this.lastDraw < REDRAW_MS && done < this.total) return
    this.lastDraw = now
    this.drawn = true
    const line = renderProgress({label: this.label, done, total: this.total, elapsed: (now - this.started) / 1000, columns: this.out.columns || 80})
    this.out.write(`\r${line}\x1b[K`)
  }

  /** Erases the bar, leaving the cursor where it was before the first draw. */
  clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K')
    this.drawn = false
  }

  /** Passes `source` through, counting its bytes into the bar. */
  async *counted(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let done = 0
    try {
      for await (const chunk of source) {
        done += chunk.length
        this.update(done)
        yield chunk
      }
    } finally {
      this.clear()
    }
  }
}
