import { createHub, type DialogiHub } from "@dialogi/core"
import { afterEach, describe, expect, it } from "vitest"
import { createWebhooks, type DialogiWebhooks, generateWebhookSecret, webhookIdOf } from "../src/index.js"
import { eventually, inboundEmail, type Receiver, startReceiver } from "./receiver.js"
import { storeKinds } from "./stores.js"

const memory = storeKinds.find((kind) => kind.name === "memory")!
const quiet = () => {}
const open: Array<{ webhooks: DialogiWebhooks; hub: DialogiHub; receiver: Receiver }> = []
afterEach(async () => {
  for (const { webhooks, hub, receiver } of open.splice(0)) {
    await webhooks.close()
    await hub.close()
    await receiver.close()
  }
})

const setUp = async (eventTypes: ReadonlyArray<string>, retryLimit = 1) => {
  const { store } = await memory.make()
  const secret = generateWebhookSecret()
  const receiver = await startReceiver([secret])
  const hub = await createHub({ store })
  const webhooks = await createWebhooks({
    store,
    subscriptions: [{ id: "crm", url: receiver.url, secrets: [secret], eventTypes: [...eventTypes] }],
    retryLimit,
    retryDelayMs: 20,
    log: quiet
  })
  open.push({ webhooks, hub, receiver })
  return { hub, webhooks, receiver, secret, store }
}

const receivedIds = async (hub: DialogiHub) =>
  (await hub.events.after(0, 1_000))
    .filter((e) => e.body._tag === "message.received")
    .map((e) => webhookIdOf(e.seq))

describe("dead letters and replay", () => {
  it("dead-letters a delivery after its retries, moves on, and replays it by id", async () => {
    const { hub, webhooks, receiver } = await setUp(["message.received"])
    receiver.failWith(500)
    for (let i = 0; i < 3; i++) await hub.ingest(inboundEmail("anna", `lost ${i}`))
    await eventually(async () => expect(await webhooks.deadLetters()).toHaveLength(3))
    const dead = await webhooks.deadLetters()
    const ids = await receivedIds(hub)
    expect(dead.map((d) => d.webhookId)).toEqual(ids)
    expect(dead[0]).toMatchObject({ subscriptionId: "crm", replay: false, attempts: 2 })
    expect(dead[0]!.reason).toContain("HTTP 500")
    // The subscription moved past them: the next event goes out as soon as the receiver works.
    receiver.failWith(undefined)
    await hub.ingest(inboundEmail("anna", "after the fix"))
    const latest = (await receivedIds(hub)).at(-1)!
    await eventually(() => expect(receiver.accepted.map((r) => r.id)).toEqual([latest]))

    const started = await webhooks.replay("crm", { id: dead[1]!.webhookId })
    expect(started.firstWebhookId).toBe(dead[1]!.webhookId)
    await eventually(() => expect(receiver.accepted.map((r) => r.id)).toEqual([latest, dead[1]!.webhookId]))
  })

  it("replays a cursor range in order, only the subscribed types, without moving the live cursor", async () => {
    const { hub, webhooks, receiver } = await setUp(["message.received"], 3)
    for (let i = 0; i < 4; i++) await hub.ingest(inboundEmail(i % 2 ? "anna" : "ben", `message ${i}`))
    const ids = await receivedIds(hub)
    await eventually(() => expect(receiver.accepted.map((r) => r.id)).toEqual(ids))
    const head = (await hub.events.after(0, 1_000)).at(-1)!.seq
    // The receiver's 2xx comes before the commit that records it: wait for the cursor to settle.
    await eventually(async () => expect((await webhooks.status("crm")).cursor).toBe(head))
    const before = await webhooks.status("crm")

    await webhooks.replay("crm", { after: 0 })
    await eventually(() => expect(receiver.accepted.map((r) => r.id)).toEqual([...ids, ...ids]))
    // A bounded range: the second and third received messages only.
    const second = Number(ids[1]!.slice(4))
    const third = Number(ids[2]!.slice(4))
    await webhooks.replay("crm", { after: second - 1, to: third })
    await eventually(() => expect(receiver.accepted.map((r) => r.id).slice(8)).toEqual([ids[1], ids[2]]))
    expect(await webhooks.status("crm")).toEqual(before)
  })

  it("answers bad requests with typed errors and changes nothing", async () => {
    const { webhooks, hub } = await setUp(["message.received"])
    await hub.ingest(inboundEmail("anna", "hello"))
    await expect(webhooks.replay("nobody", { after: 0 })).rejects.toMatchObject({
      _tag: "UnknownSubscription"
    })
    await expect(webhooks.status("nobody")).rejects.toMatchObject({ _tag: "UnknownSubscription" })
    await expect(webhooks.replay("crm", { id: "msg_12" })).rejects.toMatchObject({
      _tag: "InvalidWebhookInput"
    })
    await expect(webhooks.replay("crm", { after: 5, to: 5 })).rejects.toMatchObject({
      _tag: "InvalidWebhookInput"
    })
    await expect(webhooks.replay("crm", { after: -1 })).rejects.toMatchObject({ _tag: "InvalidWebhookInput" })
    // A replay of an event the subscription does not take queues nothing.
    expect((await webhooks.replay("crm", { id: "evt_1" })).firstWebhookId).toBeUndefined()
    expect(await webhooks.deadLetters()).toEqual([])
  })
})

describe("subscriptions", () => {
  it("deliver only the event types asked for, wildcards included", async () => {
    const { hub, receiver } = await setUp(["conversation.*", "contact.created"])
    await hub.ingest(inboundEmail("anna", "first"))
    await hub.ingest(inboundEmail("anna", "second"))
    const wanted = (await hub.events.after(0, 1_000))
      .filter((e) => e.body._tag.startsWith("conversation.") || e.body._tag === "contact.created")
      .map((e) => e.body._tag)
    expect(wanted).toEqual(["contact.created", "conversation.opened"])
    await eventually(() => expect(receiver.accepted.map((r) => r.type)).toEqual(wanted))
  })

  it("refuse a bad configuration with a typed error that never prints a secret", async () => {
    const { store } = await memory.make()
    const leaked = "whsec_dG9vLXNob3J0"
    const attempt = createWebhooks({
      store,
      subscriptions: [{ id: "crm", url: "ftp://example.com", secrets: [leaked], eventTypes: ["message"] }]
    })
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e as { _tag: string; message: string }
    )
    expect(error?._tag).toBe("InvalidWebhookInput")
    expect(error?.message).toContain("url")
    expect(error?.message).toContain("secrets")
    expect(error?.message).not.toContain(leaked)
    await expect(
      createWebhooks({
        store,
        subscriptions: [
          { id: "crm", url: "https://a.example", secrets: [generateWebhookSecret()], eventTypes: ["*"] },
          { id: "crm", url: "https://b.example", secrets: [generateWebhookSecret()], eventTypes: ["*"] }
        ]
      })
    ).rejects.toMatchObject({ _tag: "InvalidWebhookInput", message: "subscription ids must be unique" })
    await expect(
      createWebhooks({ store, subscriptions: [], retryLimit: -1, timeoutMs: Number.NaN })
    ).rejects.toMatchObject({
      _tag: "InvalidWebhookInput",
      what: "options"
    })
  })
})
