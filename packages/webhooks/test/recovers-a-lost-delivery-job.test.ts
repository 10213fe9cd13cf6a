import { createHub } from "@dialogi/core"
import { Effect } from "effect"
import { expect, it } from "vitest"
import { createWebhooks, generateWebhookSecret, webhookIdOf } from "../src/index.js"
import { saveCursor } from "../src/SubscriptionCursor.js"
import { eventually, inboundEmail, startReceiver } from "./receiver.js"
import { storeKinds } from "./stores.js"

// A worker killed during a delivery's last attempt leaves the cursor saying "in flight" with no
// job behind it (the job engine marks the job failed on expiry, without our handler).
it("queues a delivery again when its job was lost, once it has been in flight too long", async () => {
  const { store } = await storeKinds.find((kind) => kind.name === "memory")!.make()
  const secret = generateWebhookSecret()
  const receiver = await startReceiver([secret])
  const hub = await createHub({ store })
  const { messageId } = await hub.ingest(inboundEmail("anna", "delivered by a worker that then died"))
  const event = (await hub.events.after(0)).find(
    (e) => e.body._tag === "message.received" && e.body.message.id === messageId
  )!
  const lostAt = Date.now()
  await Effect.runPromise(
    store.transaction((tx) =>
      saveCursor(tx, "crm", { cursor: event.seq - 1, inFlight: event.seq, since: lostAt })
    )
  )
  const subscriptions = [
    { id: "crm", url: receiver.url, secrets: [secret], eventTypes: ["message.received"] }
  ]
  const patient = await createWebhooks({ store, subscriptions, stalledAfterMs: 60_000, log: () => {} })
  await new Promise((resolve) => setTimeout(resolve, 300))
  expect(receiver.accepted).toEqual([]) // not stalled yet: its job may still be running
  await patient.close()

  const webhooks = await createWebhooks({ store, subscriptions, stalledAfterMs: 200, log: () => {} })
  try {
    await eventually(() => expect(receiver.accepted.map((r) => r.id)).toEqual([webhookIdOf(event.seq)]))
    await eventually(async () =>
      expect(await webhooks.status("crm")).toEqual({
        subscriptionId: "crm",
        cursor: event.seq,
        inFlight: undefined
      })
    )
  } finally {
    await webhooks.close()
    await hub.close()
    await receiver.close()
  }
})
