/**
 * A block of lines redrawn in place on a terminal: each frame moves the cursor back to the
 * block's first line and rewrites it. Lines are cut to the terminal's width, so none wraps and
 * the block's height is its number of lines; a block taller than the terminal shows its first
 * rows and how many more there are.
 */
import {cut} from './format.js'

export class LiveView {
  private height = 0

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  render(lines: string[]): void {
    const width = this.out.columns || 80
    const rows = Math.max(2, (this.out.rows || 24) - 1)
    const shown = lines.length > rows ? [...lines.slice(0, rows - 1), `… ${lines.length - rows + 1} more`] : lines
    const up = this.height > 0 ? `\u001b[${this.height}F` : ''
    this.out.write(`${up}${shown.map((line) => `${cut(line, width - 1)}\u001b[K\n`).join('')}\u001b[J`)
    this.height = shown.length
  }

  /** Leaves the last frame on the screen; what is written next goes below it. */
  done(): void {
    this.height = 0
  }
}
