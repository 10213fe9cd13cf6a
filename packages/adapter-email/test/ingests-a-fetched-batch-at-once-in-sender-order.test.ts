import type { ImapFlow } from "imapflow"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cursorKey, type MailboxCursor, openClient, syncMailbox } from "../src/ImapWatcher.js"
import { memoryKeyValueStore } from "../src/KeyValueStore.js"
import { senderKey } from "../src/senderKey.js"
import { customerMail, imapAccount, startDovecot } from "./emailTestKit.js"

/** A promise the test resolves or rejects by hand: a mail's ingest that "commits" on cue. */
const deferred = () => {
  let resolve!: () => void
  let reject!: (e: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const senders = {
  anna: "Anna Virtanen <anna@customer.example>",
  bob: '"Bob, the builder" <BOB@Customer.Example>',
  cai: "cai@customer.example"
}
// UID order of delivery: Anna writes three times, Bob twice (his second in upper case), Cai once.
const backlog = [
  { id: "a1@customer.example", from: senders.anna },
  { id: "b1@customer.example", from: senders.bob },
  { id: "a2@customer.example", from: senders.anna },
  { id: "c1@customer.example", from: senders.cai },
  { id: "b2@customer.example", from: senders.bob.toUpperCase() },
  { id: "a3@customer.example", from: senders.anna }
]

let dovecot: Awaited<ReturnType<typeof startDovecot>>
const accountOf = () => ({ ...imapAccount(dovecot), batchSize: 10, afterIngest: "seen" as const })

beforeAll(async () => {
  dovecot = await startDovecot()
  for (const mail of backlog)
    await dovecot.deliver("support@example.com", customerMail({ messageId: mail.id, from: mail.from }))
})

afterAll(async () => {
  await dovecot?.stop()
})

const messageIdOf = (raw: Uint8Array) =>
  /^Message-ID: <([^>]+)>/im.exec(Buffer.from(raw).toString("latin1"))?.[1]

/** Message-IDs of the mails flagged \Seen in INBOX, sorted. */
const seenFlags = async () =>
  [...(await dovecot.flagsByMessageId("INBOX"))]
    .filter(([, flags]) => flags.includes("\\Seen"))
    .map(([id]) => id)
    .sort()

/** Runs syncMailbox on a real IMAP connection with a handler the test drives mail by mail. */
const startSync = async (state: ReturnType<typeof memoryKeyValueStore>) => {
  const account = accountOf()
  const client: ImapFlow = openClient(account, false)
  client.on("error", () => undefined)
  await client.connect()
  const inFlight = new Map<string, ReturnType<typeof deferred>>()
  const started: Array<string> = []
  let waiter: (() => void) | undefined
  const handle = async (raw: Uint8Array) => {
    const id = messageIdOf(raw) ?? "?"
    const gate = deferred()
    inFlight.set(id, gate)
    started.push(id)
    waiter?.()
    await gate.promise
    inFlight.delete(id)
  }
  const cursor = async () => {
    const saved = await state.get(cursorKey(account, "INBOX"))
    return saved === undefined ? 0 : (JSON.parse(saved) as MailboxCursor).lastUid
  }
  /** Resolves once exactly these mails are in the handler (and no others). */
  const inHandler = async (ids: ReadonlyArray<string>) => {
    while (
      [...inFlight.keys()].sort().join() !== [...ids].sort().join() &&
      [...inFlight.keys()].length <= ids.length
    )
      await new Promise<void>((resolve) => {
        waiter = resolve
      })
    expect([...inFlight.keys()].sort()).toEqual([...ids].sort())
  }
  /** Lets a mail commit (or fail), then waits until the watcher took that in. */
  const settle = async (id: string, error?: Error) => {
    const gate = inFlight.get(id)
    if (!gate) throw new Error(`${id} is not in the handler`)
    if (error) gate.reject(error)
    else gate.resolve()
    // The cursor write and the next mails start on later turns of the event loop.
    for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  }
  const run = syncMailbox(client, {
    account,
    mailbox: "INBOX",
    state,
    onHealth: () => undefined,
    handle
  }).finally(() => client.logout().catch(() => client.close()))
  // Marked handled here: it may reject while the test is still settling mails; the test awaits it.
  run.catch(() => undefined)
  return { run, started, inHandler, settle, cursor }
}

describe("senderKey", () => {
  it("reads the From address of a raw mail, lower-cased, across folding and display names", () => {
    const raw = (head: string) =>
      new TextEncoder().encode(`${head}\r\nSubject: x\r\n\r\nFrom: body@not.header\r\n`)
    expect(senderKey(raw("From: Anna Virtanen <Anna@Customer.Example>"))).toBe("anna@customer.example")
    expect(senderKey(raw('from:   "Doe, <John>" \r\n <john@x.example>'))).toBe("john@x.example")
    expect(senderKey(raw("From: =?utf-8?q?=C3=89milie?= <emilie@x.example>"))).toBe("emilie@x.example")
    expect(senderKey(raw("FROM: plain@x.example (Plain)"))).toBe("plain@x.example")
    // No From header: every such mail shares the empty key, so they keep their order.
    expect(senderKey(raw("To: support@example.com"))).toBe("")
  })
})

describe("syncing a fetched batch", () => {
  const state = memoryKeyValueStore()

  it("ingests one mail per sender at once, in UID order per sender, and moves the cursor only over a committed prefix", async () => {
    const sync = await startSync(state)
    // The first mail of each sender starts at once; their later mails wait for them.
    await sync.inHandler(["a1@customer.example", "b1@customer.example", "c1@customer.example"])
    expect(sync.started).toEqual(["a1@customer.example", "b1@customer.example", "c1@customer.example"])

    // Bob's and Cai's mails commit first: the cursor stays before Anna's mail still in flight.
    await sync.settle("b1@customer.example")
    await sync.settle("c1@customer.example")
    await sync.inHandler(["a1@customer.example", "b2@customer.example"])
    expect(await sync.cursor()).toBe(0)

    // Anna's first commits: the prefix is UIDs 1-2, and her second mail starts only now.
    await sync.settle("a1@customer.example")
    await sync.inHandler(["a2@customer.example", "b2@customer.example"])
    expect(await sync.cursor()).toBe(2)

    // Anna's second fails: Bob's second still commits, Anna's third is not tried (it may reply
    // to the failed one), and the cursor never passes the failed mail.
    await sync.settle("b2@customer.example")
    await sync.settle("a2@customer.example", new Error("store down"))
    await expect(sync.run).rejects.toThrow("store down")
    expect(sync.started).not.toContain("a3@customer.example")
    expect(await sync.cursor()).toBe(2)
    // Every committed mail is flagged, also those behind the failed one.
    expect(await seenFlags()).toEqual([
      "a1@customer.example",
      "b1@customer.example",
      "b2@customer.example",
      "c1@customer.example"
    ])
  })

  it("resumes from the cursor: reads the failed mail and everything after it again, in order", async () => {
    const sync = await startSync(state)
    // The committed mails after the failed one are read again (the hub dedupes them).
    await sync.inHandler(["a2@customer.example", "c1@customer.example", "b2@customer.example"])
    await sync.settle("c1@customer.example")
    await sync.settle("b2@customer.example")
    expect(await sync.cursor()).toBe(2)
    await sync.settle("a2@customer.example")
    expect(await sync.cursor()).toBe(5)
    await sync.inHandler(["a3@customer.example"])
    await sync.settle("a3@customer.example")
    expect(await sync.run).toEqual({ stored: 4, lastUid: 6 })
    expect(await sync.cursor()).toBe(6)
    expect(await seenFlags()).toEqual(backlog.map((m) => m.id).sort())
  })
})
