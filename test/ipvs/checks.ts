/**
 * The checks the IPVS guest runs, by name, shared by the guest (which reports them on the serial
 * console) and the host test (which expects every one of them to be reported as passed).
 */
export const checks = [
  'sync creates a wrr service with masquerading real servers (ipvsadm -S -n)',
  'requests to 127.0.0.1:5000 reach every backend',
  'weights 3:1 split new connections about 3:1',
  'a VIP outside 127/8 gets a local address and balances',
  'weight 0: no new connections, an open connection keeps working',
  'a drained real server is deleted once its connections are gone',
  'replacing a backend under a request loop fails no request',
  'sync with an unchanged table applies nothing',
  'a real server deleted by hand is restored by the next sync',
  'a client port reused after a stopped backend reset it reaches a live backend at once',
  'a virtual service launcho did not create is left alone',
  'a restarted balancer removes its own leftover service (ownership record)',
] as const

export type CheckName = (typeof checks)[number]

export const CHECK_PREFIX = 'LAUNCHO-IPVS-CHECK '
export const DONE_LINE = 'LAUNCHO-IPVS-DONE'

export interface CheckReport {
  name: CheckName
  ok: boolean
  detail: string
}
