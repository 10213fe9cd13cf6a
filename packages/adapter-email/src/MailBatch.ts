/** One fetched mail of a batch, as far as ordering is concerned. */
export interface BatchMail {
  readonly uid: number
  /** Mails with the same key are handled one after another, in UID order; others at once. */
  readonly orderKey: string
}

/** How {@link handleMailBatch} runs a batch. */
export interface MailBatchOptions<M extends BatchMail> {
  /** At most this many mails are in the handler at once. */
  readonly concurrency: number
  /** Resolves once the mail is committed; a rejection is a failure worth retrying. */
  readonly handle: (mail: M) => Promise<void>
  /**
   * Called each time the run of committed mails from the start of the batch grows, with the
   * UID of its last mail: the highest UID a cursor may move to. Never called with a UID at or
   * after a mail that failed or is still in the handler. Calls come in increasing UID order.
   * Must not throw (queue slow or failing work, such as a cursor write, and await it after).
   */
  readonly onCommittedPrefix: (lastUid: number) => void
}

/** What happened to a batch. */
export interface MailBatchResult {
  /** UIDs of the committed mails, in UID order (also those after a failed mail). */
  readonly committed: ReadonlyArray<number>
  /** The first failure, by UID; `undefined` when every mail was committed. */
  readonly failure: { readonly uid: number; readonly error: unknown } | undefined
  /** Mails not attempted because an earlier mail with the same key failed. */
  readonly skipped: ReadonlyArray<number>
}

/**
 * Hands the mails of one fetched batch to `handle` concurrently, so the hub can commit them
 * in one group transaction instead of one transaction per mail. A sender's mails stay in
 * order (a reply must find the conversation its original opened), so mails sharing an
 * `orderKey` form a chain; when one fails, the rest of its chain waits for the retry while
 * other chains go on.
 */
export const handleMailBatch = <M extends BatchMail>(
  mails: ReadonlyArray<M>,
  options: MailBatchOptions<M>
): Promise<MailBatchResult> => {
  const ordered = [...mails].sort((a, b) => a.uid - b.uid)
  // A Map iterates in insertion order: the chain whose next mail has the lowest UID goes first.
  const chains = new Map<string, Array<M>>()
  for (const mail of ordered) {
    const chain = chains.get(mail.orderKey)
    if (chain) chain.push(mail)
    else chains.set(mail.orderKey, [mail])
  }
  const limit = Math.max(1, Math.floor(options.concurrency))
  const busy = new Set<string>()
  const committed = new Set<number>()
  const failures: Array<{ uid: number; error: unknown }> = []
  const skipped: Array<number> = []
  let prefix = 0
  let inFlight = 0

  return new Promise<MailBatchResult>((resolve) => {
    const advancePrefix = () => {
      const before = prefix
      while (prefix < ordered.length && committed.has(ordered[prefix]!.uid)) prefix += 1
      if (prefix > before) options.onCommittedPrefix(ordered[prefix - 1]!.uid)
    }
    const finish = () => {
      failures.sort((a, b) => a.uid - b.uid)
      resolve({
        committed: ordered.filter((m) => committed.has(m.uid)).map((m) => m.uid),
        failure: failures[0],
        skipped: skipped.sort((a, b) => a - b)
      })
    }
    const pump = () => {
      for (const [key, chain] of chains) {
        if (inFlight >= limit) break
        if (busy.has(key)) continue
        const mail = chain.shift()
        if (chain.length === 0) chains.delete(key)
        if (mail === undefined) continue
        busy.add(key)
        inFlight += 1
        const settle = (error?: { error: unknown }) => {
          busy.delete(key)
          inFlight -= 1
          if (error) {
            failures.push({ uid: mail.uid, ...error })
            const rest = chains.get(key)
            if (rest) {
              skipped.push(...rest.map((m) => m.uid))
              chains.delete(key)
            }
          } else {
            committed.add(mail.uid)
            advancePrefix()
          }
          pump()
        }
        // Called through a promise so a handler that throws synchronously counts as a failure.
        Promise.resolve()
          .then(() => options.handle(mail))
          .then(
            () => settle(),
            (error: unknown) => settle({ error })
          )
      }
      if (inFlight === 0 && chains.size === 0) finish()
    }
    pump()
  })
}
