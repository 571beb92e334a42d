/**
 * A launcho server in its own sandbox systemd (the integration tests' Harness) with a chosen load
 * balancer, running copies of test/fixtures/web-app.cjs (a tiny Node HTTP server: the body is
 * "<APP_VERSION> <pid>", /health is 200 unless UNHEALTHY_FILE exists) behind one service.
 */
import {Harness, waitFor, type StatusJson} from '../../test/helpers/harness.js'
import {webApp} from '../../test/helpers/services.js'

export const SERVICE_URL = 'http://127.0.0.1:5000/'
export type Lb = 'nftables' | 'userspace'

export interface App {
  /** Process name; its APP_VERSION (the first word of each answer) is the same. */
  name: string
  /** Health policy; the defaults (1s × 3) when left out. */
  interval?: string
  failureThreshold?: number
  /** /health answers 500 while this file exists. */
  unhealthyFile?: string
}

export type Instance = StatusJson['processes'][number]['instances'][number] & {
  traffic: string
  health: string
  ports: Record<string, number>
}

/** `extraConfig`: more lines for the server's config.yaml. */
export async function startServer(lb: Lb, extraConfig = ''): Promise<Harness> {
  const h = await Harness.start({server: false})
  try {
    const config = await h.writeFile('config.yaml', `lb: ${lb}\ndrainTimeoutSeconds: 5\n${extraConfig}`)
    await h.startServer(['--config', config])
  } catch (error) {
    await h.close()
    throw error
  }
  return h
}

export function target(apps: App[]): string {
  const processes = apps.map((app) => {
    const tuning = [app.interval ? `interval: ${app.interval}` : '', app.failureThreshold ? `failureThreshold: ${app.failureThreshold}` : ''].filter(Boolean)
    return `  - name: ${app.name}
    command: ["node", "${webApp}"]
    uid: nobody
    env:
      APP_VERSION: "${app.name}"${app.unhealthyFile ? `\n      UNHEALTHY_FILE: "${app.unhealthyFile}"` : ''}
    receives: [web]
    health: {service: web, path: /health${tuning.map((t) => `, ${t}`).join('')}}`
  })
  return `processes:\n${processes.join('\n')}\nservices:\n  - name: web\n    on: "127.0.0.1:5000"\n`
}

/** The instances of `process` in the status (as the CLI's --json shows them). */
export function instancesOf(status: StatusJson, process: string): Instance[] {
  return (status.processes.find((p) => p.name === process)?.instances ?? []) as Instance[]
}

/** Waits until exactly these processes run, each as one current, healthy instance in the balancer. */
export async function waitServing(h: Harness, processes: string[], timeoutMs = 60_000): Promise<Record<string, Instance>> {
  return waitFor(`${processes.join(', ')} serving`, async () => {
    const status = await h.status()
    if (status.processes.some((p) => !processes.includes(p.name) && p.instances.length > 0)) return false
    const found: Record<string, Instance> = {}
    for (const name of processes) {
      const instances = instancesOf(status, name)
      const only = instances.length === 1 ? instances[0]! : undefined
      if (!only || !only.current || only.traffic !== 'in' || only.health !== 'healthy' || only.activeState !== 'active') return false
      found[name] = only
    }
    return found
  }, timeoutMs, 200)
}

/** Closes every harness on Ctrl-C too, so no sandbox outlives the benchmark. */
export function closeOnInterrupt(harnesses: () => Harness[]): void {
  process.once('SIGINT', () => {
    console.error('\ninterrupted: stopping the sandboxes')
    void Promise.allSettled(harnesses().map((h) => h.close())).then(() => process.exit(130))
  })
}
