/**
 * The short topic names of the original launcho (`t`, `s`, `r`, …) as the words a user types:
 * `launcho t`, `launcho t --help`, `launcho help t` and `launcho t set` all mean the `target`
 * topic, so help, errors and suggestions speak of `target set`, not of an alias.
 */
export const TOPIC_ALIASES: Readonly<Record<string, string>> = {
  t: 'target',
  s: 'secret',
  secrets: 'secret',
  r: 'resource',
  resources: 'resource',
}

export function expandTopicAlias(argv: readonly string[]): string[] {
  const words = [...argv]
  const at = words[0] === 'help' ? 1 : 0
  const topic = TOPIC_ALIASES[words[at] ?? '']
  if (topic !== undefined) words[at] = topic
  return words
}
