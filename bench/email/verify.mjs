// Checks a finished run against the workload: every mail once, one thread per sender.

/**
 * Compares what was read or stored with the workload: `items` are { messageId, thread } where
 * thread is the sender (baseline) or the conversation (hub) the mail ended in.
 */
export const verify = (items, expected) => {
  const seen = new Map()
  let unexpected = 0
  for (const { messageId } of items) {
    if (!expected.threadOf.has(messageId)) unexpected++
    seen.set(messageId, (seen.get(messageId) ?? 0) + 1)
  }
  let lost = 0
  let duplicated = 0
  for (const id of expected.threadOf.keys()) {
    const count = seen.get(id) ?? 0
    if (count === 0) lost++
    if (count > 1) duplicated++
  }
  // Threads: every thread holds the mails of exactly one sender, and each sender has one thread.
  const senderOfThread = new Map()
  const threadsOfSender = new Map()
  let mixedThreads = 0
  for (const { messageId, thread } of items) {
    const sender = expected.threadOf.get(messageId)
    if (sender === undefined) continue
    const known = senderOfThread.get(thread)
    if (known === undefined) senderOfThread.set(thread, sender)
    else if (known !== sender) mixedThreads++
    const threads = threadsOfSender.get(sender) ?? new Set()
    threads.add(thread)
    threadsOfSender.set(sender, threads)
  }
  const splitSenders = [...threadsOfSender.values()].filter((t) => t.size > 1).length
  return {
    messages: items.length,
    lost,
    duplicated,
    unexpected,
    threads: senderOfThread.size,
    expectedThreads: new Set(expected.threadOf.values()).size,
    mixedThreads,
    splitSenders
  }
}

/** Every inbound email message as { messageId, thread = its conversation }, read through the store. */
export const storedMessages = async (store) => {
  const { Effect } = await import("effect")
  const read = (f) => Effect.runPromise(store.read(f))
  const items = []
  for (let after; ; ) {
    const page = await read((tx) => tx.listConversations({}, { after, limit: 500 }))
    const thread = await read((tx) => tx.thread(page.items.map((c) => c.id)))
    for (const m of thread)
      if (m.direction === "inbound" && m.channel === "email")
        items.push({ messageId: m.providerMessageId, thread: m.conversationId })
    if (page.next === undefined) break
    after = page.next
  }
  return items
}
