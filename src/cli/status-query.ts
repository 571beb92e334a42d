/** What `launcho status` asks the server, shared by the command and its quick path (quick-status.ts). */
export const DEFAULT_STATUS_EVENTS = 10
export const MAX_STATUS_EVENTS = 500

export interface StatusQuery {
  events: number
  costs?: 0
}

/** The table shows each exposure's score, not what costs it (--json keeps everything). */
export function statusQuery(flags: {events: number; json?: boolean}): StatusQuery {
  return {events: flags.events, ...(flags.json ? {} : {costs: 0})}
}
