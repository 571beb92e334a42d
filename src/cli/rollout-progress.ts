/** The deploy follower judges each process the way the server judges a release (protocol/rollout-progress.ts). */
export * from '../protocol/rollout-progress.js'
