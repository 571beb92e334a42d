/**
 * The facts a target is checked against when it is set (target/server-rules.ts), gathered from
 * this server: its resource store with the pinned prefixes, NSS, and where the API listens.
 * Built once per check: the resource ids are listed once however many processes use them.
 */
import type {PortRange} from '../lb/ports.js'
import type {Pins} from '../store/resource-pins.js'
import {isResourceId} from '../store/resource-id.js'
import type {ResourceStore} from '../store/resource-store.js'
import type {ServerFacts} from '../target/server-rules.js'
import type {HostPort} from '../target/socket-overlap.js'
import {knownInNss} from './nss.js'

export interface ServerFactSources {
  /** Without a store (tests), every resource id is taken as it is. */
  resources?: Pick<ResourceStore, 'ids'>
  pins: Pins
  api?: HostPort
  portRange?: PortRange
  nss?: typeof knownInNss
}

export function serverFacts(sources: ServerFactSources): ServerFacts {
  const {resources, pins, nss = knownInNss} = sources
  let stored: Promise<Set<string>> | undefined
  return {
    async resourcesMatching(ref) {
      if (!resources) return [ref]
      stored ??= resources.ids().then((ids) => new Set(ids))
      const ids = await stored
      // A prefix keeps what it resolved to when it was set, while that resource is stored.
      const pinned = pins.get(ref)
      if (pinned !== undefined && ids.has(pinned)) return [pinned]
      if (isResourceId(ref)) return ids.has(ref) ? [ref] : []
      return [...ids].filter((id) => id.startsWith(ref)).sort()
    },
    knownUsers: (keys) => nss('passwd', keys),
    knownGroups: (keys) => nss('group', keys),
    ...(sources.api ? {api: sources.api} : {}),
    ...(sources.portRange ? {portRange: sources.portRange} : {}),
  }
}
