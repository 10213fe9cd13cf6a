/**
 * Picks the next ingest batch from the waiting envelopes (oldest first): at most `max` of them,
 * none holding a key that a batch in flight holds. An envelope left behind blocks its keys for
 * the rest of the pick, so two envelopes sharing a key (retries of one provider message, two
 * messages of one sender) are never reordered. What is left waits, in order, for the next pick.
 *
 * Why: two batches of one process that share a key would meet at the database's advisory lock
 * and run one after the other anyway, each half the size; batches without shared keys really
 * run side by side. The database locks stay, for other hub instances.
 */
export const takeConflictFree = <A extends { readonly keys: ReadonlyArray<string> }>(
  waiting: ReadonlyArray<A>,
  held: ReadonlySet<string>,
  max: number
): { readonly batch: ReadonlyArray<A>; readonly rest: ReadonlyArray<A> } => {
  const batch: A[] = []
  const rest: A[] = []
  const blocked = new Set<string>()
  for (let i = 0; i < waiting.length; i++) {
    const item = waiting[i]!
    if (batch.length === max) return { batch, rest: rest.concat(waiting.slice(i)) }
    if (item.keys.every((k) => !held.has(k) && !blocked.has(k))) batch.push(item)
    else {
      rest.push(item)
      for (const k of item.keys) blocked.add(k)
    }
  }
  return { batch, rest }
}
