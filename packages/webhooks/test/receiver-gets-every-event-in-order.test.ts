import { createHub } from "@dialogi/core"
import { describe, expect, it } from "vitest"
import { createWebhooks, generateWebhookSecret, webhookIdOf } from "../src/index.js"
import { eventually, inboundEmail, startReceiver } from "./receiver.js"
import { storeKinds } from "./stores.js"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.each(storeKinds)("webhook deliveries on $name", (kind) => {
  it("a receiver that was down gets every event after it comes back, in order, none twice, each verified", async () => {
    const { store, cleanup } = await kind.make()
    const secret = generateWebhookSecret()
    const receiver = await startReceiver([secret])
    const failures: string[] = []
    const hub = await createHub({ store })
    const webhooks = await createWebhooks({
      store,
      subscriptions: [{ id: "crm", url: receiver.url, secrets: [secret], eventTypes: ["message.received"] }],
      retryLimit: 20,
      retryDelayMs: kind.retryDelayMs,
      log: (level, message) => {
        if (level === "warn") failures.push(message)
      }
    })
    try {
      for (let i = 0; i < 5; i++) await hub.ingest(inboundEmail("anna", `before the outage ${i}`))
      await eventually(() => expect(receiver.accepted).toHaveLength(5))

      await receiver.down()
      for (let i = 0; i < 15; i++)
        await hub.ingest(inboundEmail(i % 2 ? "anna" : "ben", `during the outage ${i}`))
      await sleep(2_500)
      expect(receiver.accepted).toHaveLength(5)
      expect(failures.length).toBeGreaterThan(0) // the first event of the outage was being retried

      await receiver.up()
      await eventually(() => expect(receiver.accepted).toHaveLength(20), 60_000)
      await sleep(1_000) // and nothing after that: no event arrives twice

      const events = await hub.events.after(0, 1_000)
      const expected = events.filter((e) => e.body._tag === "message.received").map((e) => webhookIdOf(e.seq))
      expect(expected).toHaveLength(20)
      expect(receiver.accepted.map((r) => r.id)).toEqual(expected)
      expect(receiver.accepted.every((r) => r.type === "message.received")).toBe(true)
      expect(receiver.rejected).toEqual([])
      expect(await webhooks.deadLetters()).toEqual([])
      await eventually(async () =>
        expect(await webhooks.status("crm")).toEqual({
          subscriptionId: "crm",
          cursor: events.at(-1)!.seq,
          inFlight: undefined
        })
      )
    } finally {
      await webhooks.close()
      await hub.close()
      await receiver.close()
      await cleanup()
    }
  }, 120_000)

  it("a sender restarted mid-stream resumes from its stored cursor: nothing missed, nothing twice", async () => {
    const { store, reopen, cleanup } = await kind.make()
    const secret = generateWebhookSecret()
    const receiver = await startReceiver([secret])
    const hub = await createHub({ store })
    const subscriptions = [{ id: "crm", url: receiver.url, secrets: [secret], eventTypes: ["message.*"] }]
    // Events before the subscription first ran are not its business (startAt "now").
    await hub.ingest(inboundEmail("early", "before the subscription existed"))
    const first = await createWebhooks({ store, subscriptions, retryDelayMs: kind.retryDelayMs })
    let second: Awaited<ReturnType<typeof createWebhooks>> | undefined
    try {
      const startedAt = (await hub.events.after(0, 1_000)).at(-1)!.seq
      for (let i = 0; i < 5; i++) await hub.ingest(inboundEmail("anna", `first run ${i}`))
      await eventually(() => expect(receiver.accepted).toHaveLength(5))
      await first.close()

      for (let i = 0; i < 10; i++) await hub.ingest(inboundEmail("anna", `while stopped ${i}`))
      await sleep(500)
      expect(receiver.accepted).toHaveLength(5)
      second = await createWebhooks({ store: await reopen(), subscriptions, retryDelayMs: kind.retryDelayMs })
      await eventually(() => expect(receiver.accepted).toHaveLength(15), 60_000)
      await sleep(1_000)

      const expected = (await hub.events.after(startedAt, 1_000))
        .filter((e) => e.body._tag.startsWith("message."))
        .map((e) => webhookIdOf(e.seq))
      expect(receiver.accepted.map((r) => r.id)).toEqual(expected)
      expect(receiver.rejected).toEqual([])
    } finally {
      await second?.close()
      await first.close()
      await hub.close()
      await receiver.close()
      await cleanup()
    }
  }, 120_000)

  it.skipIf(!kind.multiInstance)(
    "two instances on one database deliver every event once, in order",
    async () => {
      const { store, reopen, cleanup } = await kind.make()
      const secret = generateWebhookSecret()
      const receiver = await startReceiver([secret])
      const hub = await createHub({ store })
      const subscriptions = [
        { id: "crm", url: receiver.url, secrets: [secret], eventTypes: ["message.received"] }
      ]
      const options = { subscriptions, retryDelayMs: kind.retryDelayMs }
      // On PostgreSQL the second instance has its own connection pool, as another process would.
      const one = await createWebhooks({ store, ...options })
      const two = await createWebhooks({ store: await reopen(), ...options })
      try {
        await Promise.all(
          Array.from({ length: 30 }, (_, i) => hub.ingest(inboundEmail(`person${i % 6}`, `message ${i}`)))
        )
        await eventually(() => expect(receiver.accepted).toHaveLength(30), 60_000)
        await sleep(1_000)
        const expected = (await hub.events.after(0, 1_000))
          .filter((e) => e.body._tag === "message.received")
          .map((e) => webhookIdOf(e.seq))
        expect(receiver.accepted.map((r) => r.id)).toEqual(expected)
      } finally {
        await two.close()
        await one.close()
        await hub.close()
        await receiver.close()
        await cleanup()
      }
    },
    120_000
  )
})
