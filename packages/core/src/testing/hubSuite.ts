import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { InboundEnvelopeInput } from "../adapter/InboundEnvelope.js"
import type { DialogiEvent } from "../domain/Event.js"
import { createHub, type DialogiHub } from "../facade/createHub.js"
import type { StoreService } from "../store/Store.js"
import { createTestChannelAdapter, type TestChannelAdapter } from "./TestChannelAdapter.js"

/** How the hub suite gets a store; `reopen` returns a new store on the same data, if durable. */
export interface HubSuiteStores {
  readonly make: () => Promise<{
    store: StoreService
    reopen?: () => Promise<StoreService>
    cleanup?: () => Promise<void>
  }>
}

const waitFor = async (check: () => Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time")
    await new Promise((r) => setTimeout(r, 20))
  }
}

const tags = (events: ReadonlyArray<DialogiEvent>) => events.map((e) => e.body._tag)

/**
 * Hub behaviour on a given store: the promises of issue "Foundation" (dedupe, one thread per
 * customer, verified linking, cursors, sends) checked end to end. Every store runs it in one
 * line next to the store conformance suite.
 */
export const hubSuite = (name: string, stores: HubSuiteStores): void => {
  describe(`hub on ${name}`, () => {
    const withHub = async (
      f: (ctx: {
        hub: DialogiHub
        email: TestChannelAdapter
        chat: TestChannelAdapter
        sms: TestChannelAdapter
      }) => Promise<void>,
      options: { sendRetryDelayMs?: number; sendRetryLimit?: number } = {}
    ) => {
      const { store, cleanup } = await stores.make()
      const email = createTestChannelAdapter({ channel: "email" })
      const chat = createTestChannelAdapter({
        channel: "chat",
        capabilities: { replyWindowSeconds: 3600, canInitiate: false }
      })
      const sms = createTestChannelAdapter({ channel: "sms", capabilities: { maxTextLength: 1600 } })
      const hub = await createHub({
        store,
        adapters: [email, chat, sms],
        defaultRegion: "FI",
        sendRetryDelayMs: options.sendRetryDelayMs ?? 20,
        sendRetryLimit: options.sendRetryLimit ?? 3,
        log: () => {}
      })
      try {
        await f({ hub, email, chat, sms })
      } finally {
        await hub.close()
        await cleanup?.()
      }
    }

    it("200 concurrent deliveries of one provider message make one message and one event", async () => {
      await withHub(async ({ hub }) => {
        const envelope = {
          channel: "email",
          providerMessageId: "<same@example.com>",
          from: { address: "Anna@Example.com" },
          parts: [{ _tag: "text" as const, text: "hello" }],
          sentAt: Date.now()
        }
        const receipts = await Promise.all(Array.from({ length: 200 }, () => hub.ingest(envelope)))
        expect(new Set(receipts.map((r) => r.messageId)).size).toBe(1)
        expect(receipts.filter((r) => !r.duplicate)).toHaveLength(1)
        const events = await hub.events.after(0)
        expect(tags(events).filter((t) => t === "message.received")).toHaveLength(1)
        const thread = await hub.thread(receipts[0]!.conversationId)
        expect(thread.messages).toHaveLength(1)
      })
    })

    it("a concurrent burst from many customers gives each one contact and one conversation", async () => {
      await withHub(async ({ hub }) => {
        const customers = 40
        const perCustomer = 5
        const envelopes = Array.from({ length: customers * perCustomer }, (_, i) => {
          const customer = i % customers
          return {
            channel: "email",
            providerMessageId: `<burst-${i}@x>`,
            from: { address: `burst${customer}@example.com` },
            parts: [{ _tag: "text" as const, text: `message ${i}` }],
            sentAt: Date.now() + i
          }
        })
        // Chat messages with a verified claim take the per-envelope path in the middle of a batch.
        const withClaims = Array.from({ length: 5 }, (_, k) => ({
          channel: "chat",
          providerMessageId: `burst-chat-${k}`,
          from: { address: `burst-visitor-${k}`, verified: true },
          claims: [{ channel: "email", address: `burst${k}@example.com`, verified: true }],
          parts: [{ _tag: "text" as const, text: `chat ${k}` }],
          sentAt: Date.now()
        }))
        const all: InboundEnvelopeInput[] = [
          ...envelopes.slice(0, 100),
          ...withClaims,
          ...envelopes.slice(100),
          ...envelopes.slice(0, 20)
        ]
        const receipts = await Promise.all(all.map((e) => hub.ingest(e)))
        const byCustomer = new Map<string, Set<string>>()
        all.forEach((e, i) => {
          const customer = e.claims?.[0]?.address ?? e.from.address
          const set = byCustomer.get(customer) ?? new Set()
          set.add(receipts[i]!.conversationId)
          byCustomer.set(customer, set)
        })
        expect(byCustomer.size).toBe(customers)
        for (const conversations of byCustomer.values()) expect(conversations.size).toBe(1)
        expect(receipts.filter((r) => r.duplicate)).toHaveLength(20)
        const events = await hub.events.after(0, 5000)
        expect(events.filter((e) => e.body._tag === "message.received")).toHaveLength(
          customers * perCustomer + 5
        )
        expect(events.filter((e) => e.body._tag === "contact.created")).toHaveLength(customers)
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
        const page = await hub.listConversations({}, { limit: 100 })
        expect(page.items).toHaveLength(customers)
      })
    })

    it("an email and a verified chat identity of one customer share one conversation, in order", async () => {
      await withHub(async ({ hub }) => {
        const t0 = Date.now()
        const mail = await hub.ingest({
          channel: "email",
          providerMessageId: "<m1@example.com>",
          from: { address: "Anna Virtanen <anna@example.com>", name: "Anna" },
          parts: [{ _tag: "text", text: "My order 1234 has not arrived" }],
          sentAt: t0
        })
        const chat = await hub.ingest({
          channel: "chat",
          providerMessageId: "chat-1",
          from: { address: "visitor-42", verified: true },
          claims: [{ channel: "email", address: "ANNA@example.com", verified: true }],
          parts: [{ _tag: "text", text: "Any news about the order?" }],
          sentAt: t0 + 1000
        })
        expect(chat.contactId).toBe(mail.contactId)
        expect(chat.conversationId).toBe(mail.conversationId)
        const thread = await hub.thread(mail.conversationId)
        expect(thread.messages.map((m) => m.channel)).toEqual(["email", "chat"])
        expect(thread.contact.identities.map((i) => `${i.channel}:${i.address}`).sort()).toEqual([
          "chat:visitor-42",
          "email:anna@example.com"
        ])
        expect(tags(await hub.events.after(0))).toContain("contact.linked")
      })
    })

    it("an unverified claim does not merge; it raises a merge suggestion", async () => {
      await withHub(async ({ hub }) => {
        const mail = await hub.ingest({
          channel: "email",
          providerMessageId: "<m2@example.com>",
          from: { address: "bob@example.com" },
          parts: [{ _tag: "text", text: "Invoice question" }],
          sentAt: Date.now()
        })
        const chat = await hub.ingest({
          channel: "chat",
          providerMessageId: "chat-2",
          from: { address: "visitor-7" },
          claims: [{ channel: "email", address: "bob@example.com", verified: false }],
          parts: [{ _tag: "text", text: "I am Bob, show me my invoices" }],
          sentAt: Date.now()
        })
        expect(chat.contactId).not.toBe(mail.contactId)
        expect(chat.conversationId).not.toBe(mail.conversationId)
        const suggestion = (await hub.events.after(0)).find((e) => e.body._tag === "contact.merge_suggested")
        expect(suggestion?.body).toMatchObject({ contactId: chat.contactId, candidateId: mail.contactId })
        const visitor = await hub.contact(chat.contactId)
        expect(visitor.identities.map((i) => i.channel)).toEqual(["chat"])
      })
    })

    it("linkIdentity links verified identities, merges their owner, and only suggests for unverified ones", async () => {
      await withHub(async ({ hub }) => {
        const anna = await hub.ingest({
          channel: "email",
          providerMessageId: "<link-1@x>",
          from: { address: "anna@example.com" },
          parts: [{ _tag: "text", text: "hi" }],
          sentAt: Date.now()
        })
        const visitor = await hub.ingest({
          channel: "chat",
          providerMessageId: "link-chat-1",
          from: { address: "visitor-link" },
          parts: [{ _tag: "text", text: "hello" }],
          sentAt: Date.now()
        })
        expect(
          await hub.linkIdentity(anna.contactId, { channel: "sms", address: "+14155550123", verified: true })
        ).toEqual({
          _tag: "linked"
        })
        expect((await hub.contact(anna.contactId)).identities.map((i) => i.channel).sort()).toEqual([
          "email",
          "sms"
        ])
        expect(
          await hub.linkIdentity(anna.contactId, {
            channel: "sms",
            address: "+1 415 555 0123",
            verified: true
          })
        ).toEqual({
          _tag: "already_linked"
        })
        expect(
          await hub.linkIdentity(visitor.contactId, {
            channel: "whatsapp",
            address: "+14155550999",
            verified: false
          })
        ).toMatchObject({ _tag: "not_linked" })
        expect(
          await hub.linkIdentity(visitor.contactId, {
            channel: "email",
            address: "ANNA@example.com",
            verified: false
          })
        ).toEqual({ _tag: "suggested", candidateId: anna.contactId })
        expect((await hub.contact(visitor.contactId)).identities.map((i) => i.channel)).toEqual(["chat"])
        const merged = await hub.linkIdentity(visitor.contactId, {
          channel: "email",
          address: "anna@example.com",
          verified: true
        })
        expect(merged).toMatchObject({
          _tag: "merged",
          merge: { survivorId: anna.contactId, absorbedId: visitor.contactId }
        })
        expect((await hub.contact(anna.contactId)).identities.map((i) => i.channel).sort()).toEqual([
          "chat",
          "email",
          "sms"
        ])
        await expect(
          hub.linkIdentity("ct_missing", { channel: "sms", address: "+14155550124", verified: true })
        ).rejects.toMatchObject({
          _tag: "NotFound"
        })
      })
    })

    it("normalizes phone numbers: +358 40 123 4567 and 040 1234567 are one identity", async () => {
      await withHub(async ({ hub }) => {
        const a = await hub.ingest({
          channel: "sms",
          providerMessageId: "SM1",
          from: { address: "+358 40 123 4567" },
          parts: [{ _tag: "text", text: "hi" }],
          sentAt: Date.now()
        })
        const b = await hub.ingest({
          channel: "sms",
          providerMessageId: "SM2",
          from: { address: "040 1234567" },
          parts: [{ _tag: "text", text: "again" }],
          sentAt: Date.now() + 1
        })
        expect(b.contactId).toBe(a.contactId)
        expect((await hub.contact(a.contactId)).identities[0]!.address).toBe("+358401234567")
      })
    })

    it("a merge is audited and can be undone, restoring both contacts and their conversations", async () => {
      await withHub(async ({ hub }) => {
        const a = await hub.ingest({
          channel: "email",
          providerMessageId: "<a@x>",
          from: { address: "carol@example.com" },
          parts: [{ _tag: "text", text: "a" }],
          sentAt: Date.now()
        })
        const b = await hub.ingest({
          channel: "sms",
          providerMessageId: "SMb",
          from: { address: "+14155550100" },
          parts: [{ _tag: "text", text: "b" }],
          sentAt: Date.now()
        })
        const merge = await hub.merge(a.contactId, b.contactId, "agent confirmed by phone")
        expect((await hub.contact(a.contactId)).identities).toHaveLength(2)
        expect((await hub.thread(b.conversationId)).conversation.contactId).toBe(a.contactId)
        await hub.unmerge(merge.id)
        expect((await hub.contact(a.contactId)).identities.map((i) => i.channel)).toEqual(["email"])
        const restored = await hub.contact(b.contactId)
        expect(restored.mergedInto).toBeUndefined()
        expect(restored.identities.map((i) => i.address)).toEqual(["+14155550100"])
        expect((await hub.thread(b.conversationId)).conversation.contactId).toBe(b.contactId)
        await expect(hub.unmerge(merge.id)).rejects.toMatchObject({ _tag: "MergeConflict" })
        expect(tags(await hub.events.after(0))).toEqual(
          expect.arrayContaining(["contact.merged", "contact.unmerged"])
        )
      })
    })

    it("a permanent send failure marks the message failed with the reason and is not retried", async () => {
      await withHub(async ({ hub, email }) => {
        const { conversationId } = await hub.ingest({
          channel: "email",
          providerMessageId: "<p@x>",
          from: { address: "dave@example.com" },
          parts: [{ _tag: "text", text: "help" }],
          sentAt: Date.now()
        })
        email.failNext(1, { retryable: false, reason: "mailbox does not exist", code: "550" })
        const reply = await hub.reply(conversationId, "We are on it")
        await waitFor(async () =>
          (await hub.thread(conversationId)).messages.some((m) => m.status._tag === "failed")
        )
        await new Promise((r) => setTimeout(r, 200))
        expect(email.attempts).toHaveLength(1)
        const failed = (await hub.thread(conversationId)).messages.find((m) => m.id === reply.id)!
        expect(failed.status).toMatchObject({
          _tag: "failed",
          reason: "mailbox does not exist",
          retryable: false
        })
      })
    })

    it("a retryable send failure is retried with backoff and then sent once", async () => {
      await withHub(async ({ hub, email }) => {
        const { conversationId } = await hub.ingest({
          channel: "email",
          providerMessageId: "<r@x>",
          from: { address: "erin@example.com" },
          parts: [{ _tag: "text", text: "help" }],
          sentAt: Date.now()
        })
        email.failNext(2, { retryable: true, reason: "421 try again later" })
        const reply = await hub.reply(conversationId, "Answer")
        await waitFor(async () =>
          (await hub.thread(conversationId)).messages.some((m) => m.status._tag === "sent")
        )
        await new Promise((r) => setTimeout(r, 200))
        expect(email.attempts.map((a) => a.attempt)).toEqual([1, 2, 3])
        expect(email.sent).toHaveLength(1)
        const events = await hub.events.after(0)
        expect(events.filter((e) => e.body._tag === "message.sent")).toHaveLength(1)
        const sent = (await hub.thread(conversationId)).messages.find((m) => m.id === reply.id)!
        expect(sent.providerMessageId).toBe(`email-out-1-${reply.id}`)
      })
    })

    it("a send receipt that already says delivered moves the message to delivered", async () => {
      await withHub(async ({ hub, sms }) => {
        const { conversationId } = await hub.ingest({
          channel: "sms",
          providerMessageId: "SM-receipt",
          from: { address: "+14155550177" },
          parts: [{ _tag: "text", text: "hi" }],
          sentAt: Date.now()
        })
        const send = sms.send
        ;(sms as { send: typeof send }).send = async (request) => ({
          ...(await send(request)),
          status: "delivered"
        })
        const reply = await hub.reply(conversationId, "hello")
        await waitFor(async () =>
          (await hub.thread(conversationId)).messages.some(
            (m) => m.id === reply.id && m.status._tag === "delivered"
          )
        )
        const kinds = tags(await hub.events.after(0))
        expect(kinds).toEqual(expect.arrayContaining(["message.sent", "message.status"]))
      })
    })

    it("refuses a reply up front when the channel's window closed, naming the alternatives", async () => {
      await withHub(async ({ hub, chat }) => {
        const { conversationId } = await hub.ingest({
          channel: "chat",
          providerMessageId: "chat-old",
          from: { address: "visitor-9", verified: true },
          claims: [{ channel: "email", address: "frank@example.com", verified: true }],
          parts: [{ _tag: "text", text: "hello?" }],
          sentAt: Date.now() - 2 * 3600_000
        })
        const check = await hub.canReply(conversationId, "chat")
        expect(check).toMatchObject({
          ok: false,
          refusal: { _tag: "WindowClosed", channel: "chat", alternatives: ["email"] }
        })
        await expect(hub.reply(conversationId, "late answer", { channel: "chat" })).rejects.toMatchObject({
          _tag: "ReplyRefused"
        })
        expect(await hub.canReply(conversationId, "sms")).toMatchObject({
          ok: false,
          refusal: { _tag: "NoIdentity" }
        })
        expect(await hub.canReply(conversationId, "email")).toMatchObject({
          ok: true,
          address: "frank@example.com"
        })
        expect(chat.attempts).toHaveLength(0)
        expect((await hub.thread(conversationId)).messages).toHaveLength(1)
      })
    })

    it("bad input gets typed errors and changes nothing", async () => {
      await withHub(async ({ hub }) => {
        await expect(hub.ingest({ channel: "email" } as never)).rejects.toMatchObject({
          _tag: "InvalidInput"
        })
        await expect(
          hub.ingest({
            channel: "sms",
            providerMessageId: "x",
            from: { address: "not a number" },
            parts: [{ _tag: "text", text: "x" }],
            sentAt: Date.now()
          })
        ).rejects.toMatchObject({ _tag: "InvalidAddress" })
        await expect(
          hub.ingest({
            channel: "email",
            providerMessageId: "x",
            from: { address: "a@b.co" },
            parts: [],
            sentAt: Date.now()
          })
        ).rejects.toMatchObject({ _tag: "InvalidInput" })
        await expect(hub.reply("cv_missing", "hi")).rejects.toMatchObject({
          _tag: "NotFound",
          entity: "conversation"
        })
        await expect(hub.setStatus("cv_missing", "resolved")).rejects.toMatchObject({ _tag: "NotFound" })
        await expect(hub.setStatus("cv_missing", "bogus" as never)).rejects.toMatchObject({
          _tag: "InvalidInput"
        })
        await expect(hub.thread("cv_missing")).rejects.toMatchObject({ _tag: "NotFound" })
        await expect(hub.unmerge("mrg_missing")).rejects.toMatchObject({ _tag: "NotFound" })
        await expect(
          hub.updateStatus({
            channel: "email",
            providerMessageId: "nope",
            status: { _tag: "delivered" },
            at: Date.now()
          })
        ).rejects.toMatchObject({ _tag: "NotFound" })
        expect(await hub.events.after(0)).toEqual([])
      })
    })

    it("status updates never move backwards, resolve/reopen and assignment emit events", async () => {
      await withHub(async ({ hub, email }) => {
        const { conversationId } = await hub.ingest({
          channel: "email",
          providerMessageId: "<s@x>",
          from: { address: "gina@example.com" },
          parts: [{ _tag: "text", text: "q" }],
          sentAt: Date.now()
        })
        await hub.assign(conversationId, { _tag: "agent", id: "agent-1" })
        await hub.note(conversationId, "VIP customer")
        const reply = await hub.reply(conversationId, "a")
        await waitFor(async () => email.sent.length === 1)
        const providerMessageId = `email-out-1-${reply.id}`
        await waitFor(async () =>
          (await hub.thread(conversationId)).messages.some((m) => m.providerMessageId === providerMessageId)
        )
        await hub.updateStatus({
          channel: "email",
          providerMessageId,
          status: { _tag: "read" },
          at: Date.now()
        })
        await hub.updateStatus({
          channel: "email",
          providerMessageId,
          status: { _tag: "delivered" },
          at: Date.now()
        })
        const message = (await hub.thread(conversationId)).messages.find((m) => m.id === reply.id)!
        expect(message.status._tag).toBe("read")
        await hub.setStatus(conversationId, "resolved")
        await hub.ingest({
          channel: "email",
          providerMessageId: "<s2@x>",
          from: { address: "gina@example.com" },
          parts: [{ _tag: "text", text: "one more thing" }],
          sentAt: Date.now(),
          threading: { inReplyTo: [providerMessageId] }
        })
        const thread = await hub.thread(conversationId)
        expect(thread.conversation.status).toBe("open")
        expect(thread.messages.map((m) => m.visibility)).toEqual(["public", "internal", "public", "public"])
        const kinds = tags(await hub.events.after(0))
        expect(kinds).toEqual(
          expect.arrayContaining([
            "conversation.assigned",
            "message.note_added",
            "conversation.resolved",
            "message.status"
          ])
        )
        expect(kinds.filter((k) => k === "message.status")).toHaveLength(1)
      })
    })

    it("lists conversations with filters and cursor pagination", async () => {
      await withHub(async ({ hub }) => {
        const ids: string[] = []
        for (let i = 0; i < 7; i++) {
          const r = await hub.ingest({
            channel: i % 2 ? "sms" : "email",
            providerMessageId: `list-${i}`,
            from: { address: i % 2 ? `+1415555010${i}` : `user${i}@example.com` },
            parts: [{ _tag: "text", text: `m${i}` }],
            sentAt: Date.now()
          })
          ids.push(r.conversationId)
          await new Promise((r) => setTimeout(r, 3))
        }
        const seen: string[] = []
        let after: string | undefined
        do {
          const page = await hub.listConversations({}, { after, limit: 3 })
          seen.push(...page.items.map((c) => c.id))
          after = page.next
        } while (after)
        expect(seen).toEqual([...ids].reverse())
        const sms = await hub.listConversations({ channel: "sms" })
        expect(sms.items).toHaveLength(3)
        await expect(hub.listConversations({}, { limit: 0 })).rejects.toMatchObject({ _tag: "InvalidInput" })
      })
    })

    it("events consumed from a cursor across a hub restart have no gap and no repeat", async () => {
      const { store, reopen, cleanup } = await stores.make()
      if (!reopen) {
        // A store without durable data (memory) cannot be restarted; the cursor test below
        // covers it within one process.
        await Effect.runPromise(store.close)
        await cleanup?.()
        return
      }
      const adapters = () => [createTestChannelAdapter({ channel: "email" })]
      const ingestSome = async (hub: DialogiHub, from: number, to: number) => {
        for (let i = from; i < to; i++)
          await hub.ingest({
            channel: "email",
            providerMessageId: `<restart-${i}@x>`,
            from: { address: `r${i % 3}@example.com` },
            parts: [{ _tag: "text", text: `m${i}` }],
            sentAt: Date.now()
          })
      }
      const seen: number[] = []
      const first = await createHub({ store, adapters: adapters(), log: () => {} })
      await ingestSome(first, 0, 6)
      const subscription = first.events.subscribe(0)
      for await (const event of subscription) {
        seen.push(event.seq)
        if (seen.length === 5) break
      }
      await first.close()
      const second = await createHub({ store: await reopen(), adapters: adapters(), log: () => {} })
      try {
        await ingestSome(second, 6, 10)
        const head = (await second.events.after(0, 5000)).at(-1)!.seq
        const resumed = second.events.subscribe(seen.at(-1)!)
        for await (const event of resumed) {
          seen.push(event.seq)
          if (event.seq === head) break
        }
        expect(seen).toEqual(Array.from({ length: head }, (_, i) => i + 1))
      } finally {
        await second.close()
        await cleanup?.()
      }
    })

    it("a live subscription delivers every event after its cursor exactly once, in order", async () => {
      await withHub(async ({ hub }) => {
        await hub.ingest({
          channel: "email",
          providerMessageId: "<e1@x>",
          from: { address: "h@example.com" },
          parts: [{ _tag: "text", text: "1" }],
          sentAt: Date.now()
        })
        const head = (await hub.events.after(0)).at(-1)!.seq
        const subscription = hub.events.subscribe(1)
        const seen: number[] = []
        const reading = (async () => {
          for await (const event of subscription) {
            seen.push(event.seq)
            if (seen.length === head - 1 + 2) break
          }
        })()
        for (let i = 2; i <= 3; i++)
          await hub.ingest({
            channel: "email",
            providerMessageId: `<e${i}@x>`,
            from: { address: "h@example.com" },
            parts: [{ _tag: "text", text: String(i) }],
            sentAt: Date.now()
          })
        await reading
        subscription.close()
        expect(seen).toEqual(Array.from({ length: head + 1 }, (_, i) => i + 2))
      })
    })
  })
}
