import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { ChannelAdapter } from "../adapter/ChannelAdapter.js"
import { isSendFailed } from "../adapter/SendFailed.js"
import { createHub, type DialogiHub } from "../facade/createHub.js"
import { makeMemoryStore } from "../store/MemoryStore.js"
import type { StoreService } from "../store/Store.js"

/** How the adapter suite drives one adapter; everything channel-specific lives here. */
export interface AdapterHarness {
  /** A fresh adapter for each test. */
  readonly makeAdapter: () => ChannelAdapter | Promise<ChannelAdapter>
  /** A request the provider would send for one inbound message with id `providerId`. */
  readonly inboundRequest: (adapter: ChannelAdapter, providerId: string) => Request | Promise<Request>
  /** The same message with a forged or missing signature. */
  readonly forgedRequest: (adapter: ChannelAdapter, providerId: string) => Request | Promise<Request>
  /** An address the adapter can send to. */
  readonly recipient: string
  /** Makes the adapter's next send fail at the provider, permanently or retryably. */
  readonly failNextSend: (adapter: ChannelAdapter, retryable: boolean) => void | Promise<void>
  /** A store per test; default: the in-memory store. */
  readonly makeStore?: () => Promise<StoreService>
}

/**
 * The adapter conformance suite: every channel adapter runs it in one line,
 * `adapterSuite("email", harness)`. It checks the promises the hub relies on: inbound
 * messages are normalized and stored once whatever the provider retries, forged requests are
 * rejected with nothing stored, and send failures say whether they are retryable.
 */
export const adapterSuite = (name: string, harness: AdapterHarness): void => {
  describe(`adapter conformance: ${name}`, () => {
    const withHub = async (f: (hub: DialogiHub, adapter: ChannelAdapter) => Promise<void>) => {
      const adapter = await harness.makeAdapter()
      const store = harness.makeStore ? await harness.makeStore() : await Effect.runPromise(makeMemoryStore())
      const hub = await createHub({ store, adapters: [adapter], runWorkers: false })
      try {
        await f(hub, adapter)
      } finally {
        await hub.close()
      }
    }

    it("declares its channel and capabilities as data", async () => {
      const adapter = await harness.makeAdapter()
      expect(adapter.channel).toMatch(/^[a-z][a-z0-9_-]{0,31}$/)
      for (const flag of [
        "text",
        "html",
        "attachments",
        "typing",
        "readReceipts",
        "deliveryReceipts",
        "canInitiate"
      ])
        expect(typeof (adapter.capabilities as Record<string, unknown>)[flag]).toBe("boolean")
    })

    it("normalizes an inbound message into the customer's thread", async () => {
      await withHub(async (hub, adapter) => {
        const response = await adapter.handleWebhook!(await harness.inboundRequest(adapter, "conf-1"))
        expect(response.status).toBeGreaterThanOrEqual(200)
        expect(response.status).toBeLessThan(300)
        const received = (await hub.events.after(0)).filter((e) => e.body._tag === "message.received")
        expect(received).toHaveLength(1)
        const body = received[0]!.body
        if (body._tag !== "message.received") throw new Error("unreachable")
        expect(body.message.channel).toBe(adapter.channel)
        expect(body.message.providerMessageId).toBeDefined()
        expect(body.message.parts.length).toBeGreaterThan(0)
        const thread = await hub.thread(body.conversationId)
        expect(thread.messages.map((m) => m.id)).toEqual([body.message.id])
      })
    })

    it("stores a message delivered many times (also concurrently) exactly once", async () => {
      await withHub(async (hub, adapter) => {
        const deliveries = await Promise.all(
          Array.from({ length: 20 }, async () =>
            adapter.handleWebhook!(await harness.inboundRequest(adapter, "conf-dup"))
          )
        )
        for (const response of deliveries) expect(response.status).toBeLessThan(300)
        const again = await adapter.handleWebhook!(await harness.inboundRequest(adapter, "conf-dup"))
        expect(again.status).toBeLessThan(300)
        const received = (await hub.events.after(0)).filter((e) => e.body._tag === "message.received")
        expect(received).toHaveLength(1)
      })
    })

    it("rejects a forged request and stores nothing", async () => {
      await withHub(async (hub, adapter) => {
        const response = await adapter.handleWebhook!(await harness.forgedRequest(adapter, "conf-forged"))
        expect(response.status).toBeGreaterThanOrEqual(400)
        expect(response.status).toBeLessThan(500)
        expect(await hub.events.after(0)).toEqual([])
      })
    })

    for (const retryable of [false, true]) {
      it(`types a ${retryable ? "retryable" : "permanent"} send failure`, async () => {
        const adapter = await harness.makeAdapter()
        await harness.failNextSend(adapter, retryable)
        const error = await adapter
          .send({
            messageId: "msg_conformance",
            conversationId: "cv_conformance",
            to: harness.recipient,
            parts: [{ _tag: "text", text: "hello" }],
            idempotencyKey: "msg_conformance",
            attempt: 1,
            metadata: {}
          })
          .then(
            () => undefined,
            (e: unknown) => e
          )
        expect(isSendFailed(error)).toBe(true)
        if (!isSendFailed(error)) return
        expect(error.retryable).toBe(retryable)
        expect(error.reason.length).toBeGreaterThan(0)
      })
    }
  })
}
