/** One fetched mail, as far as ordering is concerned. */
export interface BatchMail {
  readonly uid: number
  /** Mails with the same key are handled one after another, in UID order; others at once. */
  readonly orderKey: string
}

/** How a {@link MailQueue} runs mails. */
export interface MailQueueOptions<M extends BatchMail> {
  /** At most this many mails are in the handler at once. */
  readonly concurrency: number
  /** Resolves once the mail is committed; a rejection is a failure worth retrying. */
  readonly handle: (mail: M) => Promise<void>
  /**
   * Called each time the run of committed mails from the first mail added grows, with the UID
   * of its last mail: the highest UID a cursor may move to. Never called with a UID at or
   * after a mail that failed or is still waiting or in the handler. Calls come in increasing
   * UID order. Must not throw (queue slow or failing work, such as a cursor write, and await
   * it after).
   */
  readonly onCommittedPrefix: (lastUid: number) => void
}

/** What happened to the mails of a queue. */
export interface MailQueueResult {
  /** UIDs of the committed mails, in UID order (also those after a failed mail). */
  readonly committed: ReadonlyArray<number>
  /** The first failure, by UID; `undefined` when every mail was committed. */
  readonly failure: { readonly uid: number; readonly error: unknown } | undefined
  /** Mails not attempted because an earlier mail with the same key failed. */
  readonly skipped: ReadonlyArray<number>
}

/**
 * Hands fetched mails to `handle` concurrently, so the hub can commit many in one group
 * transaction instead of one transaction per mail. A sender's mails stay in order (a reply
 * must find the conversation its original opened), so mails sharing an `orderKey` form a
 * chain; when one fails, the rest of its chain (also mails added later) waits for the retry
 * while other chains go on. Mails are added batch by batch in increasing UID order, so the
 * next batch can be fetched while the last one is still being stored.
 */
export const makeMailQueue = <M extends BatchMail>(options: MailQueueOptions<M>) => {
  // A Map iterates in insertion order: the chain whose next mail has the lowest UID goes first.
  const chains = new Map<string, Array<M>>()
  const limit = Math.max(1, Math.floor(options.concurrency))
  const busy = new Set<string>()
  const failedKeys = new Set<string>()
  const ordered: Array<number> = []
  const committed = new Set<number>()
  const failures: Array<{ uid: number; error: unknown }> = []
  const skipped: Array<number> = []
  let prefix = 0
  let inFlight = 0
  let outstanding = 0
  let waiters: Array<() => void> = []
  const taken = new Set<number>()

  const wakeWaiters = () => {
    const woken = waiters
    waiters = []
    for (const wake of woken) wake()
  }
  const advancePrefix = () => {
    const before = prefix
    while (prefix < ordered.length && committed.has(ordered[prefix]!)) prefix += 1
    if (prefix > before) options.onCommittedPrefix(ordered[prefix - 1]!)
  }
  const skipChain = (key: string) => {
    const rest = chains.get(key)
    if (rest) {
      skipped.push(...rest.map((m) => m.uid))
      outstanding -= rest.length
      chains.delete(key)
    }
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
        outstanding -= 1
        if (error) {
          failures.push({ uid: mail.uid, ...error })
          failedKeys.add(key)
          skipChain(key)
        } else {
          committed.add(mail.uid)
          advancePrefix()
        }
        pump()
        wakeWaiters()
      }
      // Called through a promise so a handler that throws synchronously counts as a failure.
      Promise.resolve()
        .then(() => options.handle(mail))
        .then(
          () => settle(),
          (error: unknown) => settle({ error })
        )
    }
  }
  /** Resolves once at most `count` added mails are still waiting or in the handler. */
  const outstandingAtMost = async (count: number) => {
    while (outstanding > count) await new Promise<void>((resolve) => waiters.push(resolve))
  }

  return {
    /** Queues mails with UIDs above every mail added before. */
    add: (mails: ReadonlyArray<M>) => {
      for (const mail of [...mails].sort((a, b) => a.uid - b.uid)) {
        ordered.push(mail.uid)
        if (failedKeys.has(mail.orderKey)) {
          skipped.push(mail.uid)
          continue
        }
        outstanding += 1
        const chain = chains.get(mail.orderKey)
        if (chain) chain.push(mail)
        else chains.set(mail.orderKey, [mail])
      }
      pump()
    },
    outstandingAtMost,
    /** True once a mail failed: callers stop adding, the retry starts from the cursor. */
    failed: () => failures.length > 0,
    /** Committed UIDs not yet taken, in UID order: for flagging or moving them. */
    takeCommitted: () => {
      const fresh = ordered.filter((uid) => committed.has(uid) && !taken.has(uid))
      for (const uid of fresh) taken.add(uid)
      return fresh
    },
    /** Waits for every added mail to be committed, failed or skipped. */
    settled: async (): Promise<MailQueueResult> => {
      await outstandingAtMost(0)
      return {
        committed: ordered.filter((uid) => committed.has(uid)),
        failure: [...failures].sort((a, b) => a.uid - b.uid)[0],
        skipped: [...skipped].sort((a, b) => a - b)
      }
    }
  }
}

/** @see makeMailQueue */
export type MailQueue<M extends BatchMail> = ReturnType<typeof makeMailQueue<M>>
