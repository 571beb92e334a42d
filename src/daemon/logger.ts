/**
 * The daemon's pino logger: JSON (for journald and machines), pretty only on a terminal. Every
 * line passes `redactLine` (the server's SecretRedactor) on its way out.
 */
import {pino, type Logger} from 'pino'

export function createLogger(level = process.env.LAUNCHO_LOG_LEVEL ?? 'info', redactLine?: (jsonLine: string) => string): Logger {
  const redact = {paths: ['token', 'value', '*.value', 'secret', '*.token', 'authorization', '*.authorization'], censor: '[redacted]'}
  const hooks = redactLine ? {hooks: {streamWrite: redactLine}} : {}
  if (process.stdout.isTTY) {
    return pino({level, redact, ...hooks, transport: {target: 'pino-pretty', options: {colorize: true, translateTime: 'SYS:HH:MM:ss.l'}}})
  }
  return pino({level, redact, ...hooks, base: {pid: process.pid}})
}
