/** The daemon's pino logger: JSON (for journald and machines), pretty only on a terminal. */
import {pino, type Logger} from 'pino'

export function createLogger(level = process.env.LAUNCHO_LOG_LEVEL ?? 'info'): Logger {
  const redact = {paths: ['token', 'value', '*.value', 'secret', '*.token', 'authorization', '*.authorization'], censor: '[redacted]'}
  if (process.stdout.isTTY) {
    return pino({level, redact, transport: {target: 'pino-pretty', options: {colorize: true, translateTime: 'SYS:HH:MM:ss.l'}}})
  }
  return pino({level, redact, base: {pid: process.pid}})
}
