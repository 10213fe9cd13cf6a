import { describe, expect, it } from "vitest"
import { makeMailQueue } from "../src/MailQueue.js"

/**
 * The watcher's queue without IMAP: mails are "committed" by the test, one by one, so what may
 * run at the same time and how far the cursor may move is checked at every step.
 */
const drivenQueue = (concurrency: number) => {
  const gates = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>()
  const started: Array<number> = []
  const prefixes: Array<number> = []
  const queue = makeMailQueue<{ uid: number; orderKey: string }>({
    concurrency,
    handle: (mail) =>
      new Promise<void>((resolve, reject) => {
        started.push(mail.uid)
        gates.set(mail.uid, { resolve, reject })
      }),
    onCommittedPrefix: (uid) => prefixes.push(uid)
  })
  // Handlers start and settle on later microtasks; a macrotask turn lets all of them run.
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve))
  const inHandler = () => [...gates.keys()].sort((a, b) => a - b)
  const commit = async (uid: number) => {
    gates.get(uid)?.resolve()
    gates.delete(uid)
    await turn()
  }
  const fail = async (uid: number) => {
    gates.get(uid)?.reject(new Error(`mail ${uid} failed`))
    gates.delete(uid)
    await turn()
  }
  return { queue, started, prefixes, inHandler, commit, fail, turn }
}

const mail = (uid: number, orderKey: string) => ({ uid, orderKey })

describe("the watcher's mail queue", () => {
  it("runs a sender's mail of the next batch only after that sender's earlier mail committed", async () => {
    const q = drivenQueue(10)
    q.queue.add([mail(1, "anna"), mail(2, "bob")])
    q.queue.add([mail(3, "anna"), mail(4, "cai")])
    await q.turn()
    expect(q.inHandler()).toEqual([1, 2, 4])
    await q.commit(4)
    await q.commit(2)
    // Cai's and Bob's mails are stored, but Anna's first is in flight: the cursor stays put.
    expect(q.prefixes).toEqual([])
    await q.commit(1)
    expect(q.prefixes).toEqual([2])
    expect(q.inHandler()).toEqual([3])
    await q.commit(3)
    expect(q.prefixes).toEqual([2, 4])
    expect(await q.queue.settled()).toEqual({ committed: [1, 2, 3, 4], failure: undefined, skipped: [] })
    expect(q.started).toEqual([1, 2, 4, 3])
  })

  it("never starts more than its concurrency, lowest UID first", async () => {
    const q = drivenQueue(2)
    q.queue.add([mail(1, "a"), mail(2, "b"), mail(3, "c"), mail(4, "d")])
    await q.turn()
    expect(q.inHandler()).toEqual([1, 2])
    await q.commit(2)
    expect(q.inHandler()).toEqual([1, 3])
    await q.commit(1)
    await q.commit(3)
    await q.commit(4)
    expect(q.started).toEqual([1, 2, 3, 4])
    expect(q.prefixes).toEqual([2, 3, 4])
  })

  it("after a failure skips that sender's later mails, also in batches added later, and keeps the cursor before it", async () => {
    const q = drivenQueue(10)
    q.queue.add([mail(1, "anna"), mail(2, "bob"), mail(3, "anna")])
    await q.turn()
    await q.fail(1)
    expect(q.queue.failed()).toBe(true)
    q.queue.add([mail(4, "anna"), mail(5, "cai")])
    await q.turn()
    // Bob and Cai go on; none of Anna's later mails is tried (each may reply to the failed one).
    expect(q.inHandler()).toEqual([2, 5])
    await q.commit(2)
    await q.commit(5)
    expect(q.prefixes).toEqual([])
    const result = await q.queue.settled()
    expect(result.committed).toEqual([2, 5])
    expect(result.skipped).toEqual([3, 4])
    expect(result.failure?.uid).toBe(1)
    expect(String(result.failure?.error)).toContain("mail 1 failed")
    expect(q.started).toEqual([1, 2, 5])
  })

  it("lets the reader wait until few enough mails are outstanding, and hands out committed UIDs once", async () => {
    const q = drivenQueue(10)
    q.queue.add([mail(1, "a"), mail(2, "b"), mail(3, "c")])
    await q.turn()
    let roomForMore = false
    const waiting = q.queue.outstandingAtMost(1).then(() => {
      roomForMore = true
    })
    await q.commit(3)
    expect(roomForMore).toBe(false)
    expect(q.queue.takeCommitted()).toEqual([3])
    await q.commit(1)
    await waiting
    expect(roomForMore).toBe(true)
    expect(q.queue.takeCommitted()).toEqual([1])
    await q.commit(2)
    expect(q.queue.takeCommitted()).toEqual([2])
    expect(q.queue.takeCommitted()).toEqual([])
    expect(q.prefixes).toEqual([1, 3])
  })
})
