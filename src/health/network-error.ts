/** What a failed connection to an instance says, in the words a check's detail uses. */
import type {HealthCheck} from './check.js'

export function describeError(error: NodeJS.ErrnoException, check: HealthCheck): string {
  if (error.name === 'AbortError') return 'cancelled'
  if (error.code === 'ECONNREFUSED') return `connection refused on port ${'port' in check ? check.port : '?'}`
  if (error.code === 'ECONNRESET') return 'connection reset'
  if (error.code?.startsWith('HPE_')) return `not an HTTP response (${error.code})`
  return error.code ?? error.message
}
