import { Effect, Exit, Scope } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { Contact, Identity } from "../domain/Contact.js"
import { type Assignee, Conversation, type ConversationStatus } from "../domain/Conversation.js"
import type { EventBody } from "../domain/Event.js"
import type { ChannelName, ContactId, ConversationId, MergeId, MessageId } from "../domain/Ids.js"
import { Message } from "../domain/Message.js"
import type { SlaClockState, SlaOutcome } from "../sla/SlaClock.js"
import { aggregateSlaOutcomes } from "../sla/SlaReport.js"
import type {
  ConversationFilter,
  Deadline,
  DeadlineRunOptions,
  Job,
  JobRetry,
  StoreService,
  StoreTx
} from "../store/Store.js"

/** How the store suite gets a fresh, empty store for every test. */
export type StoreSuiteFactory = () => Promise<{ store: StoreService; cleanup?: () => Promise<void> }>

const channel = (name: string) => name as ChannelName
const at = (ms: number) => new Date(Date.UTC(2025, 0, 1) + ms)

const contact = (id: string, identities: ReadonlyArray<[string, string, boolean]> = []) =>
  new Contact({
    id: id as ContactId,
    name: `Name ${id}`,
    attributes: { plan: "pro", n: 1 },
    identities: identities.map(
      ([c, address, verified]) => new Identity({ channel: channel(c), address, verified })
    ),
    createdAt: at(0)
  })

const conversation = (
  id: string,
  contactId: string,
  lastMessageMs: number,
  extra: {
    status?: ConversationStatus
    assignee?: Assignee
    tags?: ReadonlyArray<string>
  } = {}
) =>
  new Conversation({
    id: id as ConversationId,
    contactId: contactId as ContactId,
    status: extra.status ?? "open",
    assignee: extra.assignee ?? { _tag: "none" },
    priority: "normal",
    tags: extra.tags ?? [],
    externalRefs: [{ system: "crm", id: `T-${id}` }],
    lastInboundChannel: channel("email"),
    lastInboundAt: at(lastMessageMs),
    lastMessageAt: at(lastMessageMs),
    createdAt: at(0),
    updatedAt: at(lastMessageMs)
  })

const message = (
  id: string,
  conversationId: string,
  sentMs: number,
  extra: { channel?: string; providerMessageId?: string; direction?: "inbound" | "outbound" } = {}
) =>
  new Message({
    id: id as MessageId,
    conversationId: conversationId as ConversationId,
    direction: extra.direction ?? "inbound",
    author: extra.direction === "outbound" ? { _tag: "agent", id: "a1" } : { _tag: "contact" },
    channel: channel(extra.channel ?? "email"),
    parts: [
      { _tag: "text", text: `text of ${id}` },
      { _tag: "attachment", attachment: { ref: "blob:1", contentType: "image/png", size: 10 } }
    ],
    visibility: "public",
    ...(extra.providerMessageId === undefined ? {} : { providerMessageId: extra.providerMessageId }),
    status: extra.direction === "outbound" ? { _tag: "queued" } : { _tag: "received" },
    createdAt: at(sentMs),
    sentAt: at(sentMs)
  })

const resolved = (id: string): EventBody => ({
  _tag: "conversation.resolved",
  conversationId: id as ConversationId
})

const waitFor = async (check: () => boolean | Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time")
    await new Promise((r) => setTimeout(r, 10))
  }
}

const sortIdentities = (identities: ReadonlyArray<Identity>) =>
  [...identities]
    .map((i) => ({ channel: i.channel, address: i.address, verified: i.verified }))
    .sort((a, b) => (a.channel + a.address < b.channel + b.address ? -1 : 1))

// Single-key reads and writes on top of the bulk methods, for tests about one row.
const findIdentity = (t: StoreTx, channel: string, address: string) =>
  Effect.map(t.findIdentities([{ channel, address }]), (rows) => rows[0])
const getConversation = (t: StoreTx, id: string) =>
  Effect.map(t.getConversations([id as ConversationId]), (rows) => rows[0])
const findOpenConversation = (t: StoreTx, contactId: string) =>
  Effect.map(t.findOpenConversations([contactId as ContactId]), (rows) => rows[0])
const findMessageByProviderId = (t: StoreTx, channel: string, providerMessageId: string) =>
  Effect.map(t.findMessagesByProviderIds([{ channel, providerMessageId }]), (rows) => rows[0])
const insertMessage = (t: StoreTx, m: Message, metadata: Readonly<Record<string, unknown>> = {}) =>
  Effect.map(t.insertMessages([{ message: m, metadata }]), (ids) => {
    if (ids.length > 1 || (ids.length === 1 && ids[0] !== m.id)) throw new Error(`unexpected ids ${ids}`)
    return ids.length === 1
  })
const sortedIds = (items: ReadonlyArray<{ readonly id: string }>) => items.map((i) => i.id).sort()

class Boom {
  readonly _tag = "Boom"
}

/**
 * The store contract as executable behaviour. Every store (memory, PGlite, PostgreSQL) runs it
 * in one line; `make` returns a fresh, empty store for each test.
 */
export const storeSuite = (name: string, make: StoreSuiteFactory): void => {
  describe(`store conformance: ${name}`, () => {
    let store: StoreService
    let cleanup: (() => Promise<void>) | undefined
    let scope: Scope.CloseableScope

    beforeEach(async () => {
      const made = await make()
      store = made.store
      cleanup = made.cleanup
      scope = Effect.runSync(Scope.make())
    })
    afterEach(async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await Effect.runPromise(store.close)
      await cleanup?.()
    })

    const read = <A>(f: (t: StoreTx) => Effect.Effect<A, unknown>) => Effect.runPromise(store.read(f))
    const write = <A>(f: (t: StoreTx) => Effect.Effect<A, unknown>) => Effect.runPromise(store.transaction(f))
    const failing = (f: (t: StoreTx) => Effect.Effect<unknown, unknown>) =>
      Effect.runPromiseExit(store.transaction((t) => Effect.zipRight(f(t), Effect.fail(new Boom()))))

    describe("contacts and identities", () => {
      it("inserts a contact with its identities and finds it by each identity", async () => {
        const c = contact("c1", [
          ["email", "anna@example.com", true],
          ["sms", "+358401234567", false]
        ])
        await write((t) => t.insertContacts([c]))
        const found = await read((t) => t.getContact(c.id))
        expect(found?.id).toBe("c1")
        expect(found?.name).toBe("Name c1")
        expect(found?.attributes).toEqual({ plan: "pro", n: 1 })
        expect(found?.createdAt.getTime()).toBe(at(0).getTime())
        expect(found?.mergedInto).toBeUndefined()
        expect(sortIdentities(found?.identities ?? [])).toEqual(sortIdentities(c.identities))
        const row = await read((t) => findIdentity(t, "sms", "+358401234567"))
        expect(row?.contactId).toBe("c1")
        expect(row?.identity.verified).toBe(false)
        expect(await read((t) => findIdentity(t, "sms", "+358000000000"))).toBeUndefined()
        expect(await read((t) => t.getContact("nobody" as ContactId))).toBeUndefined()
      })

      it("inserts several contacts in one call and finds several identities at once", async () => {
        const c1 = contact("c1", [
          ["sms", "+358401111111", false],
          ["email", "one@example.com", true],
          ["chat", "visitor-1", false]
        ])
        const c2 = contact("c2", [["chat", "visitor-2", true]])
        const c3 = contact("c3")
        await write((t) => Effect.zipRight(t.insertContacts([c1, c2, c3]), t.insertContacts([])))
        const rows = await read((t) =>
          t.findIdentities([
            { channel: "email", address: "one@example.com" },
            { channel: "sms", address: "+358000000000" },
            { channel: "chat", address: "visitor-2" },
            { channel: "email", address: "one@example.com" },
            { channel: "sms", address: "one@example.com" },
            { channel: "chat", address: "visitor-1" }
          ])
        )
        expect(
          rows.map((r) => [r.identity.channel, r.identity.address, r.contactId, r.identity.verified]).sort()
        ).toEqual([
          ["chat", "visitor-1", "c1", false],
          ["chat", "visitor-2", "c2", true],
          ["email", "one@example.com", "c1", true]
        ])
        // Identities come back in the order they were inserted.
        expect((await read((t) => t.getContact(c1.id)))?.identities.map((i) => i.address)).toEqual([
          "+358401111111",
          "one@example.com",
          "visitor-1"
        ])
        expect((await read((t) => t.getContact(c3.id)))?.identities).toEqual([])
        expect(await read((t) => t.findIdentities([]))).toEqual([])
        expect(await read((t) => t.findIdentities([{ channel: "chat", address: "nobody" }]))).toEqual([])
      })

      it("adds identities, verifies them and moves them to another contact", async () => {
        await write((t) =>
          Effect.gen(function* () {
            yield* t.insertContacts([contact("a", [["email", "a@example.com", true]])])
            yield* t.insertContacts([contact("b")])
            yield* t.addIdentity(
              "b" as ContactId,
              new Identity({ channel: channel("chat"), address: "v1", verified: false })
            )
            yield* t.addIdentity(
              "b" as ContactId,
              new Identity({ channel: channel("chat"), address: "v2", verified: false })
            )
            yield* t.setIdentityVerified("chat", "v1")
          })
        )
        expect((await read((t) => findIdentity(t, "chat", "v1")))?.identity.verified).toBe(true)
        expect((await read((t) => findIdentity(t, "chat", "v2")))?.identity.verified).toBe(false)
        await write((t) =>
          t.moveIdentities("a" as ContactId, [
            new Identity({ channel: channel("chat"), address: "v1", verified: true })
          ])
        )
        expect((await read((t) => findIdentity(t, "chat", "v1")))?.contactId).toBe("a")
        expect((await read((t) => findIdentity(t, "chat", "v2")))?.contactId).toBe("b")
        const a = await read((t) => t.getContact("a" as ContactId))
        expect(sortIdentities(a?.identities ?? []).map((i) => i.address)).toEqual(["v1", "a@example.com"])
        const b = await read((t) => t.getContact("b" as ContactId))
        expect(b?.identities.map((i) => i.address)).toEqual(["v2"])
      })

      it("records merges, marks them undone and sets mergedInto", async () => {
        await write((t) =>
          Effect.gen(function* () {
            yield* t.insertContacts([contact("s")])
            yield* t.insertContacts([contact("x")])
            yield* t.setMergedInto("x" as ContactId, "s" as ContactId)
            yield* t.insertMerge({
              id: "m1" as MergeId,
              survivorId: "s" as ContactId,
              absorbedId: "x" as ContactId,
              reason: "same person",
              movedIdentities: [
                new Identity({ channel: channel("email"), address: "x@example.com", verified: true })
              ],
              movedConversations: ["k1" as ConversationId, "k2" as ConversationId],
              createdAt: at(5)
            })
          })
        )
        expect((await read((t) => t.getContact("x" as ContactId)))?.mergedInto).toBe("s")
        const merge = await read((t) => t.getMerge("m1" as MergeId))
        expect(merge?.survivorId).toBe("s")
        expect(merge?.absorbedId).toBe("x")
        expect(merge?.reason).toBe("same person")
        expect(merge?.movedIdentities.map((i) => [i.channel, i.address, i.verified])).toEqual([
          ["email", "x@example.com", true]
        ])
        expect(merge?.movedConversations).toEqual(["k1", "k2"])
        expect(merge?.createdAt.getTime()).toBe(at(5).getTime())
        expect(merge?.undoneAt).toBeUndefined()
        await write((t) =>
          Effect.zipRight(
            t.markMergeUndone("m1" as MergeId, at(9)),
            t.setMergedInto("x" as ContactId, undefined)
          )
        )
        expect((await read((t) => t.getMerge("m1" as MergeId)))?.undoneAt?.getTime()).toBe(at(9).getTime())
        expect((await read((t) => t.getContact("x" as ContactId)))?.mergedInto).toBeUndefined()
        expect(await read((t) => t.getMerge("nope" as MergeId))).toBeUndefined()
      })
    })

    describe("conversations", () => {
      it("inserts, updates and reads a conversation with every field", async () => {
        const c = conversation("k1", "c1", 10, {
          tags: ["vip", "billing"],
          assignee: { _tag: "team", id: "t1" }
        })
        await write((t) => Effect.zipRight(t.insertContacts([contact("c1")]), t.insertConversations([c])))
        expect(await read((t) => getConversation(t, c.id))).toEqual(c)
        const changed = new Conversation({
          ...c,
          status: "waiting_on_customer",
          assignee: { _tag: "agent", id: "ag" },
          priority: "urgent",
          tags: [],
          externalRefs: [],
          lastInboundChannel: undefined,
          lastInboundAt: undefined,
          updatedAt: at(20)
        })
        await write((t) => t.updateConversations([changed]))
        expect(await read((t) => getConversation(t, c.id))).toEqual(changed)
        expect(await read((t) => getConversation(t, "none" as ConversationId))).toBeUndefined()
      })

      it("inserts, reads and updates several conversations in one call", async () => {
        const k1 = conversation("k1", "c1", 10, {
          tags: ["vip", "billing"],
          assignee: { _tag: "bot", id: "b" }
        })
        const k2 = conversation("k2", "c1", 20)
        const k3 = conversation("k3", "c2", 30, { tags: ['quote"d', "comma,{brace}"], status: "snoozed" })
        await write((t) =>
          Effect.gen(function* () {
            yield* t.insertContacts([contact("c1"), contact("c2")])
            yield* t.insertConversations([k1, k2, k3])
            yield* t.insertConversations([])
            yield* t.updateConversations([])
          })
        )
        const found = await read((t) =>
          t.getConversations(["k3", "missing", "k1", "k3"].map((id) => id as ConversationId))
        )
        expect([...found].sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual([k1, k3])
        expect(await read((t) => t.getConversations([]))).toEqual([])
        const k1b = new Conversation({
          ...k1,
          status: "resolved",
          tags: [],
          assignee: { _tag: "none" },
          updatedAt: at(50)
        })
        const k3b = new Conversation({
          ...k3,
          contactId: "c1" as ContactId,
          tags: ["x"],
          externalRefs: [],
          lastInboundAt: undefined,
          lastInboundChannel: undefined,
          lastMessageAt: at(60)
        })
        // Updating a conversation that does not exist changes nothing (and creates nothing).
        const ghost = conversation("ghost", "c1", 70)
        await write((t) => t.updateConversations([k3b, ghost, k1b]))
        const updated = await read((t) =>
          t.getConversations(["k1", "k2", "k3", "ghost"].map((id) => id as ConversationId))
        )
        expect([...updated].sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual([k1b, k2, k3b])
      })

      it("finds the open conversation of several contacts at once: one each, newest first, never resolved", async () => {
        await write((t) =>
          Effect.gen(function* () {
            yield* t.insertContacts(["c1", "c2", "c3", "c4"].map((id) => contact(id)))
            yield* t.insertConversations([
              conversation("c1-old", "c1", 10),
              conversation("c1-newer", "c1", 20, { status: "waiting_on_customer" }),
              conversation("c1-newest", "c1", 30, { status: "resolved" }),
              // Same activity: the higher id wins.
              conversation("c2-a", "c2", 40),
              conversation("c2-b", "c2", 40, { status: "snoozed" }),
              conversation("c2-0", "c2", 5),
              conversation("c3-done", "c3", 50, { status: "resolved" })
            ])
          })
        )
        const open = async (ids: ReadonlyArray<string>) =>
          Object.fromEntries(
            (await read((t) => t.findOpenConversations(ids.map((id) => id as ContactId)))).map((c) => [
              c.contactId,
              c.id
            ])
          )
        const all = await read((t) =>
          t.findOpenConversations(["c1", "c2", "c3", "c4", "c1", "nobody"].map((id) => id as ContactId))
        )
        expect(all).toHaveLength(2)
        expect(await open(["c1", "c2", "c3", "c4", "c1", "nobody"])).toEqual({ c1: "c1-newer", c2: "c2-b" })
        expect(await open(["c2"])).toEqual({ c2: "c2-b" })
        expect(await open([])).toEqual({})
        // Resolving the newest open one falls back to the next; reopening brings it back.
        const newer = await read((t) => getConversation(t, "c1-newer"))
        const b = await read((t) => getConversation(t, "c2-b"))
        await write((t) =>
          t.updateConversations([
            new Conversation({ ...newer!, status: "resolved" }),
            new Conversation({ ...b!, lastMessageAt: at(1) })
          ])
        )
        expect(await open(["c1", "c2", "c3"])).toEqual({ c1: "c1-old", c2: "c2-a" })
        await write((t) => t.moveConversations(["c2-a" as ConversationId], "c3" as ContactId))
        expect(await open(["c1", "c2", "c3"])).toEqual({ c1: "c1-old", c2: "c2-0", c3: "c2-a" })
      })

      it("finds the most recent non-resolved conversation and moves conversations", async () => {
        await write((t) =>
          Effect.gen(function* () {
            yield* t.insertContacts([contact("c1")])
            yield* t.insertContacts([contact("c2")])
            yield* t.insertConversations([conversation("old", "c1", 10)])
            yield* t.insertConversations([conversation("newer", "c1", 20, { status: "snoozed" })])
            yield* t.insertConversations([conversation("newest", "c1", 30, { status: "resolved" })])
            yield* t.insertConversations([conversation("other", "c2", 40)])
          })
        )
        expect((await read((t) => findOpenConversation(t, "c1" as ContactId)))?.id).toBe("newer")
        expect([...(await read((t) => t.conversationsOf("c1" as ContactId)))].sort()).toEqual([
          "newer",
          "newest",
          "old"
        ])
        await write((t) =>
          t.moveConversations(["old" as ConversationId, "newer" as ConversationId], "c2" as ContactId)
        )
        expect((await read((t) => findOpenConversation(t, "c1" as ContactId)))?.id).toBeUndefined()
        expect((await read((t) => findOpenConversation(t, "c2" as ContactId)))?.id).toBe("other")
        expect((await read((t) => getConversation(t, "old" as ConversationId)))?.contactId).toBe("c2")
        expect(await read((t) => t.conversationsOf("c3" as ContactId))).toEqual([])
      })

      it("lists with every filter, newest activity first", async () => {
        await write((t) =>
          Effect.gen(function* () {
            yield* t.insertContacts([contact("c1")])
            yield* t.insertContacts([contact("c2")])
            yield* t.insertConversations([conversation("k1", "c1", 10, { tags: ["vip"] })])
            yield* t.insertConversations([
              conversation("k2", "c1", 20, { status: "resolved", assignee: { _tag: "agent", id: "a1" } })
            ])
            yield* t.insertConversations([
              conversation("k3", "c2", 30, { status: "snoozed", assignee: { _tag: "agent", id: "a2" } })
            ])
            yield* t.insertConversations([
              conversation("k4", "c2", 40, { assignee: { _tag: "team", id: "a1" }, tags: ["vip", "x"] })
            ])
            yield* insertMessage(t, message("m1", "k1", 10, { channel: "sms" }))
            yield* insertMessage(t, message("m2", "k3", 30, { channel: "sms" }))
            yield* insertMessage(t, message("m3", "k4", 40, { channel: "email" }))
          })
        )
        const ids = async (filter: Omit<ConversationFilter, "contactId"> & { contactId?: string } = {}) =>
          (await read((t) => t.listConversations(filter as ConversationFilter, { limit: 100 }))).items.map(
            (c) => c.id
          )
        expect(await ids()).toEqual(["k4", "k3", "k2", "k1"])
        expect(await ids({ status: "open" })).toEqual(["k4", "k1"])
        expect(await ids({ status: ["snoozed", "resolved"] })).toEqual(["k3", "k2"])
        expect(await ids({ contactId: "c2" })).toEqual(["k4", "k3"])
        expect(await ids({ tag: "vip" })).toEqual(["k4", "k1"])
        expect(await ids({ channel: "sms" })).toEqual(["k3", "k1"])
        expect(await ids({ assignee: { _tag: "agent", id: "a1" } })).toEqual(["k2"])
        expect(await ids({ assignee: { _tag: "none" } })).toEqual(["k1"])
        expect(
          await ids({ assignee: { _tag: "team", id: "a1" }, tag: "x", status: "open", channel: "email" })
        ).toEqual(["k4"])
        expect(await ids({ status: "open", channel: "sms", contactId: "c2" })).toEqual([])
      })

      it("pages with cursors without repeating or missing a conversation", async () => {
        const total = 23
        await write((t) =>
          Effect.gen(function* () {
            yield* t.insertContacts([contact("c1")])
            // Several conversations share a timestamp so the id tie-break is exercised.
            for (let i = 0; i < total; i++)
              yield* t.insertConversations([
                conversation(`k${String(i).padStart(2, "0")}`, "c1", Math.floor(i / 3))
              ])
          })
        )
        const seen: string[] = []
        let after: string | undefined
        for (let guard = 0; guard < 20; guard++) {
          const page = await read((t) => t.listConversations({}, { after, limit: 5 }))
          expect(page.items.length).toBeLessThanOrEqual(5)
          seen.push(...page.items.map((c) => c.id))
          if (page.next === undefined) break
          after = page.next
        }
        expect(seen).toHaveLength(total)
        expect(new Set(seen).size).toBe(total)
        const all = (await read((t) => t.listConversations({}, { limit: 100 }))).items.map((c) => c.id)
        expect(seen).toEqual(all)
        expect((await read((t) => t.listConversations({}, { limit: 100 }))).next).toBeUndefined()
      })
    })

    describe("messages", () => {
      const seed = () =>
        write((t) =>
          Effect.gen(function* () {
            yield* t.insertContacts([contact("c1")])
            yield* t.insertConversations([conversation("k1", "c1", 10)])
            yield* t.insertConversations([conversation("k2", "c1", 20)])
          })
        )

      it("inserts, reads and dedupes on (channel, providerMessageId)", async () => {
        await seed()
        const m = message("m1", "k1", 10, { providerMessageId: "p-1" })
        expect(await write((t) => insertMessage(t, m, { raw: "x" }))).toBe(true)
        expect(await read((t) => t.getMessage(m.id))).toEqual(m)
        const again = message("m2", "k1", 11, { providerMessageId: "p-1" })
        expect(await write((t) => insertMessage(t, again))).toBe(false)
        expect(await read((t) => t.getMessage(again.id))).toBeUndefined()
        // Same provider id on another channel is another message.
        expect(
          await write((t) =>
            insertMessage(t, message("m3", "k1", 12, { providerMessageId: "p-1", channel: "sms" }))
          )
        ).toBe(true)
        expect((await read((t) => findMessageByProviderId(t, "email", "p-1")))?.id).toBe("m1")
        expect((await read((t) => findMessageByProviderId(t, "sms", "p-1")))?.id).toBe("m3")
        expect(await read((t) => findMessageByProviderId(t, "chat", "p-1"))).toBeUndefined()
        // Messages without provider ids never collide.
        expect(await write((t) => insertMessage(t, message("m4", "k1", 13)))).toBe(true)
        expect(await write((t) => insertMessage(t, message("m5", "k1", 13)))).toBe(true)
      })

      it("inserts several messages in one call and returns only the ids it inserted", async () => {
        await seed()
        const first = await write((t) =>
          t.insertMessages([
            { message: message("m1", "k1", 10, { providerMessageId: "p-1" }), metadata: { raw: 1 } },
            { message: message("m2", "k1", 11), metadata: {} }
          ])
        )
        expect([...first].sort()).toEqual(["m1", "m2"])
        const second = await write((t) =>
          t.insertMessages(
            [
              // Already stored: skipped.
              message("x1", "k1", 12, { providerMessageId: "p-1" }),
              message("m3", "k2", 13, { providerMessageId: "p-3" }),
              // The same key twice in one call: the first one is inserted.
              message("m4", "k2", 14, { providerMessageId: "p-3" }),
              message("m5", "k2", 15, { providerMessageId: "p-1", channel: "sms" }),
              message("m6", "k2", 16),
              message("m7", "k2", 16)
            ].map((m) => ({ message: m, metadata: { id: m.id } }))
          )
        )
        expect([...second].sort()).toEqual(["m3", "m5", "m6", "m7"])
        expect(await read((t) => t.getMessage("x1" as MessageId))).toBeUndefined()
        expect(await read((t) => t.getMessage("m4" as MessageId))).toBeUndefined()
        expect(await read((t) => t.getMessage("m3" as MessageId))).toEqual(
          message("m3", "k2", 13, { providerMessageId: "p-3" })
        )
        const found = await read((t) =>
          t.findMessagesByProviderIds([
            { channel: "email", providerMessageId: "p-1" },
            { channel: "email", providerMessageId: "p-3" },
            { channel: "sms", providerMessageId: "p-1" },
            { channel: "chat", providerMessageId: "p-1" },
            { channel: "email", providerMessageId: "p-3" },
            { channel: "email", providerMessageId: "p-404" }
          ])
        )
        expect(sortedIds(found)).toEqual(["m1", "m3", "m5"])
        expect(found.find((m) => m.id === "m1")).toEqual(
          message("m1", "k1", 10, { providerMessageId: "p-1" })
        )
        expect(await write((t) => t.insertMessages([]))).toEqual([])
        expect(await read((t) => t.findMessagesByProviderIds([]))).toEqual([])
        expect(
          await write((t) =>
            t.insertMessages([
              { message: message("m8", "k1", 20, { providerMessageId: "p-1" }), metadata: {} }
            ])
          )
        ).toEqual([])
      })

      it("sets the status and the provider id so the message is found by it", async () => {
        await seed()
        const m = message("out", "k1", 10, { direction: "outbound" })
        await write((t) => insertMessage(t, m))
        await write((t) => t.setMessageStatus(m.id, { _tag: "sent" }, "prov-9"))
        const sent = await read((t) => findMessageByProviderId(t, "email", "prov-9"))
        expect(sent?.id).toBe("out")
        expect(sent?.status).toEqual({ _tag: "sent" })
        expect(sent?.providerMessageId).toBe("prov-9")
        await write((t) =>
          t.setMessageStatus(m.id, { _tag: "failed", reason: "bounced", code: "550", retryable: false })
        )
        const failed = await read((t) => t.getMessage(m.id))
        expect(failed?.status).toEqual({ _tag: "failed", reason: "bounced", code: "550", retryable: false })
        expect(failed?.providerMessageId).toBe("prov-9")
        // A provider retry of that id is a duplicate now.
        expect(
          await write((t) => insertMessage(t, message("dup", "k1", 11, { providerMessageId: "prov-9" })))
        ).toBe(false)
      })

      it("finds the latest inbound message per channel and orders threads by sentAt, then id", async () => {
        await seed()
        await write((t) =>
          Effect.gen(function* () {
            yield* t.insertMessages(
              [
                message("b", "k1", 30),
                message("a", "k1", 30),
                message("z", "k1", 10),
                message("s1", "k1", 50, { channel: "sms" })
              ].map((m) => ({ message: m, metadata: {} }))
            )
            yield* insertMessage(t, message("o1", "k1", 60, { direction: "outbound" }))
            yield* t.insertMessages([
              { message: message("y", "k2", 20), metadata: {} },
              { message: message("e2", "k2", 40), metadata: { n: 2 } }
            ])
          })
        )
        expect((await read((t) => t.lastInbound("k1" as ConversationId, "email")))?.sentAt.getTime()).toBe(
          at(30).getTime()
        )
        expect((await read((t) => t.lastInbound("k1" as ConversationId, "sms")))?.id).toBe("s1")
        expect(await read((t) => t.lastInbound("k1" as ConversationId, "chat"))).toBeUndefined()
        const thread = await read((t) => t.thread(["k1" as ConversationId, "k2" as ConversationId]))
        expect(thread.map((m) => m.id)).toEqual(["z", "y", "a", "b", "e2", "s1", "o1"])
        expect((await read((t) => t.thread(["k2" as ConversationId]))).map((m) => m.id)).toEqual(["y", "e2"])
        expect(await read((t) => t.thread([]))).toEqual([])
      })
    })

    describe("ingest composites", () => {
      it("findForIngest returns the messages and identities among the keys", async () => {
        await write((t) =>
          Effect.gen(function* () {
            yield* t.insertContacts([
              contact("c1", [["email", "a@x", true]]),
              contact("c2", [["sms", "+1", false]])
            ])
            yield* t.insertConversations([conversation("v1", "c1", 1)])
            yield* t.insertMessages([
              { message: message("m1", "v1", 1, { providerMessageId: "p1" }), metadata: {} },
              { message: message("m2", "v1", 2, { providerMessageId: "p2", channel: "sms" }), metadata: {} }
            ])
          })
        )
        const found = await write((t) =>
          t.findForIngest({
            messages: [
              { channel: "email", providerMessageId: "p1" },
              { channel: "email", providerMessageId: "p2" },
              { channel: "email", providerMessageId: "missing" }
            ],
            identities: [
              { channel: "email", address: "a@x" },
              { channel: "sms", address: "+1" },
              { channel: "chat", address: "nobody" }
            ]
          })
        )
        expect(sortedIds(found.messages)).toEqual(["m1"])
        expect(found.messages[0]).toMatchObject({
          conversationId: "v1",
          channel: "email",
          providerMessageId: "p1"
        })
        expect(found.identities.map((r) => `${r.contactId}:${r.identity.channel}`).sort()).toEqual([
          "c1:email",
          "c2:sms"
        ])
        expect(await write((t) => t.findForIngest({ messages: [], identities: [] }))).toEqual({
          messages: [],
          identities: []
        })
      })

      it("findConversationsForIngest returns open conversations per contact and those asked by id", async () => {
        await write((t) =>
          t.insertConversations([
            conversation("v1", "c1", 1),
            conversation("v2", "c1", 5),
            conversation("v3", "c2", 3, { status: "resolved" }),
            conversation("v4", "c3", 2)
          ])
        )
        const found = await write((t) =>
          t.findConversationsForIngest({
            openOf: ["c1", "c2"] as ContactId[],
            ids: ["v3", "v4", "nope"] as ConversationId[]
          })
        )
        expect(sortedIds(found.open)).toEqual(["v2"])
        expect(sortedIds(found.byId)).toEqual(["v3", "v4"])
      })

      it("applyIngestWrites writes every row and appends the events last", async () => {
        await write((t) =>
          t.applyIngestWrites({
            contacts: [contact("c1", [["email", "a@x", false]])],
            newConversations: [conversation("v1", "c1", 1)],
            updatedConversations: [],
            messages: [
              { message: message("m1", "v1", 1, { providerMessageId: "p1" }), metadata: { k: 1 } },
              { message: message("m2", "v1", 2, { providerMessageId: "p2" }), metadata: {} }
            ],
            events: [resolved("v1"), resolved("v1")],
            at: at(7)
          })
        )
        const after = await read((t) =>
          Effect.all({
            contact: t.getContact("c1" as ContactId),
            conversation: getConversation(t, "v1"),
            thread: t.thread(["v1" as ConversationId]),
            events: t.eventsAfter(0, 10)
          })
        )
        expect(after.contact?.identities.map((i) => i.address)).toEqual(["a@x"])
        expect(after.conversation?.id).toBe("v1")
        expect(after.thread.map((m) => m.id)).toEqual(["m1", "m2"])
        expect(after.events.map((e) => e.seq)).toEqual([1, 2])
        expect(after.events[0]?.at.getTime()).toBe(at(7).getTime())
        await write((t) =>
          t.applyIngestWrites({
            contacts: [],
            newConversations: [],
            updatedConversations: [conversation("v1", "c1", 9, { status: "waiting_on_customer" })],
            messages: [],
            events: [],
            at: at(9)
          })
        )
        expect((await read((t) => getConversation(t, "v1")))?.status).toBe("waiting_on_customer")
        expect(await read((t) => t.eventsAfter(0, 10))).toHaveLength(2)
      })

      it("applyIngestWrites fails the transaction, transiently, on a provider id already stored", async () => {
        await write((t) =>
          t.insertMessages([{ message: message("m0", "v0", 0, { providerMessageId: "p0" }), metadata: {} }])
        )
        const failed = await Effect.runPromise(
          Effect.flip(
            store.transaction((t) =>
              t.applyIngestWrites({
                contacts: [contact("c1", [["email", "a@x", false]])],
                newConversations: [conversation("v1", "c1", 1)],
                updatedConversations: [],
                messages: [
                  { message: message("m1", "v1", 1, { providerMessageId: "p1" }), metadata: {} },
                  { message: message("m2", "v1", 2, { providerMessageId: "p0" }), metadata: {} }
                ],
                events: [resolved("v1")],
                at: at(7)
              })
            )
          )
        )
        expect(failed._tag).toBe("StoreError")
        expect(failed.transient).toBe(true)
        const after = await read((t) =>
          Effect.all({
            contact: t.getContact("c1" as ContactId),
            thread: t.thread(["v1" as ConversationId]),
            events: t.eventsAfter(0, 10)
          })
        )
        expect(after).toEqual({ contact: undefined, thread: [], events: [] })
      })
    })

    describe("events", () => {
      it("numbers events gap-free from 1 and pages with eventsAfter", async () => {
        const first = await write((t) => t.appendEvents([resolved("k1"), resolved("k2")], at(1)))
        expect(first.map((e) => e.seq)).toEqual([1, 2])
        expect(first[0]?.conversationId).toBe("k1")
        const second = await write((t) =>
          t.appendEvents(
            [
              {
                _tag: "contact.linked",
                contactId: "c1" as ContactId,
                channel: channel("sms"),
                address: "+1",
                verified: true
              }
            ],
            at(2)
          )
        )
        expect(second[0]?.seq).toBe(3)
        expect(second[0]?.contactId).toBe("c1")
        expect(await write((t) => t.appendEvents([], at(3)))).toEqual([])
        const all = await read((t) => t.eventsAfter(0, 100))
        expect(all.map((e) => e.seq)).toEqual([1, 2, 3])
        expect(all[2]?.body).toEqual(second[0]?.body)
        expect(all[0]?.at.getTime()).toBe(at(1).getTime())
        expect((await read((t) => t.eventsAfter(1, 1))).map((e) => e.seq)).toEqual([2])
        expect(await read((t) => t.eventsAfter(3, 10))).toEqual([])
      })

      it("reads one conversation's events after a cursor, in order, paged", async () => {
        const k1 = "k1" as ConversationId
        const linked: EventBody = {
          _tag: "contact.linked",
          contactId: "c1" as ContactId,
          channel: channel("sms"),
          address: "+1",
          verified: true
        }
        // Interleaved with another conversation and a contact-only event; one batch rolls back.
        await write((t) => t.appendEvents([resolved("k1"), resolved("k2"), linked], at(1)))
        await write((t) => t.appendEvents([resolved("k2"), resolved("k1")], at(2)))
        const rolledBack = await failing((t) =>
          Effect.zipRight(t.appendEvents([resolved("k1")], at(3)), Effect.fail(new Error("rolled back")))
        )
        expect(Exit.isFailure(rolledBack)).toBe(true)
        await write((t) => t.appendEvents([resolved("k2"), resolved("k1")], at(4)))
        const seqs = async (after: number, limit: number, conversationId: ConversationId) =>
          (await read((t) => t.eventsAfter(after, limit, { conversationId }))).map((e) => e.seq)
        expect(await seqs(0, 100, k1)).toEqual([1, 5, 7])
        expect(await seqs(0, 100, "k2" as ConversationId)).toEqual([2, 4, 6])
        expect(await seqs(1, 100, k1)).toEqual([5, 7])
        expect(await seqs(4, 100, k1)).toEqual([5, 7])
        expect(await seqs(0, 2, k1)).toEqual([1, 5])
        expect(await seqs(5, 1, k1)).toEqual([7])
        expect(await seqs(7, 100, k1)).toEqual([])
        expect(await seqs(0, 100, "nobody" as ConversationId)).toEqual([])
        const page = await read((t) => t.eventsAfter(0, 100, { conversationId: k1 }))
        expect(page.every((e) => e.conversationId === k1 && e.body._tag === "conversation.resolved")).toBe(
          true
        )
        // No filter (or an empty one) is still the whole log.
        expect((await read((t) => t.eventsAfter(0, 100, {}))).map((e) => e.seq)).toEqual([
          1, 2, 3, 4, 5, 6, 7
        ])
      })

      it("keeps event bodies with nested domain objects intact", async () => {
        const c = conversation("k1", "c1", 5, { tags: ["t"] })
        const m = message("m1", "k1", 5, { providerMessageId: "p" })
        const [opened, received] = await write((t) =>
          t.appendEvents(
            [
              { _tag: "conversation.opened", conversationId: c.id, conversation: c },
              { _tag: "message.received", conversationId: c.id, message: m }
            ],
            at(5)
          )
        )
        const stored = await read((t) => t.eventsAfter(0, 10))
        expect(stored).toEqual([opened, received])
        expect(stored[0]?.contactId).toBe("c1")
      })

      it("tells watchers the head sequence after commit", async () => {
        const heads: number[] = []
        const stop = store.watchEvents((head) => heads.push(head))
        await write((t) => t.appendEvents([resolved("k1"), resolved("k1"), resolved("k1")], at(1)))
        await waitFor(() => heads.includes(3))
        expect(Math.max(...heads)).toBe(3)
        stop()
        await write((t) => t.appendEvents([resolved("k1")], at(2)))
        await new Promise((r) => setTimeout(r, 100))
        expect(heads.includes(4)).toBe(false)
      })
    })

    describe("transactions", () => {
      it("rolls back everything a failed transaction wrote", async () => {
        await write((t) =>
          Effect.zipRight(
            t.insertContacts([contact("keep")]),
            t.insertConversations([conversation("k1", "keep", 1)])
          )
        )
        await Effect.runPromise(
          store.defineQueue("rollback-q", { retryLimit: 0, retryDelayMs: 10, backoff: false })
        )
        const exit = await failing((t) =>
          Effect.gen(function* () {
            yield* t.insertContacts([contact("gone", [["email", "gone@example.com", true]])])
            yield* t.insertConversations([conversation("k2", "keep", 5), conversation("k3", "gone", 5)])
            yield* t.updateConversations([conversation("k1", "keep", 1, { status: "resolved" })])
            yield* t.moveConversations(["k1" as ConversationId], "gone" as ContactId)
            yield* insertMessage(t, message("m1", "k1", 1, { providerMessageId: "p1" }))
            yield* t.setMergedInto("keep" as ContactId, "gone" as ContactId)
            yield* t.appendEvents([resolved("k1")], at(1))
            yield* t.enqueueJob({ queue: "rollback-q", payload: { n: 1 } })
          })
        )
        expect(Exit.isFailure(exit)).toBe(true)
        expect(await read((t) => t.getContact("gone" as ContactId))).toBeUndefined()
        expect(await read((t) => findIdentity(t, "email", "gone@example.com"))).toBeUndefined()
        expect(await read((t) => t.getMessage("m1" as MessageId))).toBeUndefined()
        expect(await read((t) => findMessageByProviderId(t, "email", "p1"))).toBeUndefined()
        expect((await read((t) => t.getContact("keep" as ContactId)))?.mergedInto).toBeUndefined()
        expect(
          sortedIds(await read((t) => t.getConversations(["k1", "k2", "k3"] as ConversationId[])))
        ).toEqual(["k1"])
        expect(
          (await read((t) => t.findOpenConversations(["keep", "gone"] as ContactId[]))).map((c) => c.id)
        ).toEqual(["k1"])
        expect(await read((t) => t.conversationsOf("gone" as ContactId))).toEqual([])
        expect(await read((t) => t.eventsAfter(0, 10))).toEqual([])
        // The provider id is free again, and the next event is number 1: no gap.
        expect(
          await write((t) => insertMessage(t, message("m1", "k1", 1, { providerMessageId: "p1" })))
        ).toBe(true)
        expect((await write((t) => t.appendEvents([resolved("k1")], at(2))))[0]?.seq).toBe(1)
        const ran: Job[] = []
        await Effect.runPromise(
          Scope.extend(
            store.work("rollback-q", (job) => Effect.sync(() => void ran.push(job))),
            scope
          )
        )
        await new Promise((r) => setTimeout(r, 1500))
        expect(ran).toEqual([])
      })

      it("returns the value of a committed transaction and fails with the error of a failed one", async () => {
        expect(await write(() => Effect.succeed(42))).toBe(42)
        const exit = await Effect.runPromiseExit(store.transaction(() => Effect.fail(new Boom())))
        expect(exit).toEqual(Exit.fail(new Boom()))
      })

      it("serializes concurrent transactions that lock the same key", async () => {
        const log: string[] = []
        const critical = (name: string) =>
          store.transaction((t) =>
            Effect.gen(function* () {
              yield* t.lock(["shared", "shared", `own-${name}`])
              log.push(`${name}:in`)
              yield* Effect.sleep("80 millis")
              log.push(`${name}:out`)
            })
          )
        await Effect.runPromise(
          Effect.all([critical("a"), critical("b"), critical("c")], { concurrency: "unbounded" })
        )
        expect(log).toHaveLength(6)
        for (let i = 0; i < log.length; i += 2) {
          const name = log[i]!.split(":")[0]
          expect(log.slice(i, i + 2)).toEqual([`${name}:in`, `${name}:out`])
        }
      })

      it("serializes transactions that lock the same key when they start (keys of any text)", async () => {
        const log: string[] = []
        // Provider ids are outside input: quotes, backslashes and SQL must stay data.
        const shared = `msg:x:'); SELECT pg_sleep(0) --\\'"`
        const critical = (name: string) =>
          store.transaction(
            () =>
              Effect.gen(function* () {
                log.push(`${name}:in`)
                yield* Effect.sleep("80 millis")
                log.push(`${name}:out`)
              }),
            { locks: [shared, `own-${name}`, shared] }
          )
        await Effect.runPromise(
          Effect.all([critical("a"), critical("b"), critical("c")], { concurrency: "unbounded" })
        )
        expect(log).toHaveLength(6)
        for (let i = 0; i < log.length; i += 2) {
          const name = log[i]!.split(":")[0]
          expect(log.slice(i, i + 2)).toEqual([`${name}:in`, `${name}:out`])
        }
      })

      it("keeps event numbers gap-free under concurrent transactions", async () => {
        const append = (n: number) =>
          store.transaction((t) =>
            t.appendEvents(
              Array.from({ length: n }, () => resolved("k")),
              at(1)
            )
          )
        await Effect.runPromise(
          Effect.all(
            Array.from({ length: 8 }, (_, i) => append((i % 3) + 1)),
            { concurrency: "unbounded" }
          )
        )
        const all = await read((t) => t.eventsAfter(0, 100))
        expect(all.map((e) => e.seq)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1))
        expect(all).toHaveLength(15)
      })
    })

    describe("deadlines", () => {
      type Handler = (d: Deadline, t: StoreTx) => Effect.Effect<void, unknown>
      const run = (kinds: string | ReadonlyArray<string>, handler: Handler, options?: DeadlineRunOptions) =>
        Effect.runPromise(Scope.extend(store.runDeadlines(kinds, handler, options), scope))
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
      const arm = (key: string, kind: string, dueAt: Date, payload: Record<string, unknown> = {}) =>
        write((t) => t.armDeadline({ key, kind, dueAt, payload }))
      const get = (key: string) => read((t) => t.getDeadline(key))
      /** Fired keys with the time they fired; the handler also appends an event in its transaction. */
      const recorder = () => {
        const fired: Array<{ key: string; at: number; attempts: number; payload: unknown }> = []
        const handler: Handler = (d, t) =>
          Effect.zipRight(
            t.appendEvents([resolved(d.key)], new Date()),
            Effect.sync(
              () => void fired.push({ key: d.key, at: Date.now(), attempts: d.attempts, payload: d.payload })
            )
          )
        return { fired, handler }
      }
      const firedEvents = async () =>
        (await read((t) => t.eventsAfter(0, 10_000))).map(
          (e) => (e.body as { conversationId: string }).conversationId
        )

      it("arms, reads, re-arms (moves) and cancels by key and by prefix", async () => {
        const due = new Date(Date.now() + 3_600_000)
        await arm("sla:c1:first_response:warning", "sla", due, { target: "firstResponse" })
        const armed = await get("sla:c1:first_response:warning")
        expect(armed).toEqual({
          key: "sla:c1:first_response:warning",
          kind: "sla",
          dueAt: due,
          payload: { target: "firstResponse" },
          attempts: 0
        })
        const later = new Date(due.getTime() + 60_000)
        await arm("sla:c1:first_response:warning", "sla", later, { target: "firstResponse", n: 2 })
        expect((await get("sla:c1:first_response:warning"))?.dueAt).toEqual(later)
        expect((await get("sla:c1:first_response:warning"))?.payload).toEqual({
          target: "firstResponse",
          n: 2
        })
        expect(await get("nope")).toBeUndefined()

        await write((t) =>
          t.armDeadlines([
            { key: "sla:c1:resolution:breach", kind: "sla", dueAt: due, payload: {} },
            { key: "sla:c10:resolution:breach", kind: "sla", dueAt: due, payload: {} },
            { key: "sla:c1%_:x", kind: "sla", dueAt: due, payload: {} },
            { key: "handoff:c1", kind: "handoff", dueAt: due, payload: { n: 1 } },
            { key: "handoff:c1", kind: "handoff", dueAt: later, payload: { n: 2 } }
          ])
        )
        expect((await get("handoff:c1"))?.payload).toEqual({ n: 2 })
        expect(await write((t) => t.cancelDeadlines("sla:c1:"))).toBe(2)
        expect(await get("sla:c1:first_response:warning")).toBeUndefined()
        expect(await get("sla:c10:resolution:breach")).toBeDefined()
        expect(await write((t) => t.cancelDeadlines("sla:c1%"))).toBe(1)
        expect(await get("sla:c10:resolution:breach")).toBeDefined()
        expect(await write((t) => t.cancelDeadline("handoff:c1"))).toBe(true)
        expect(await write((t) => t.cancelDeadline("handoff:c1"))).toBe(false)
        expect(await get("handoff:c1")).toBeUndefined()
      })

      it("tells the store's clock", async () => {
        const now = await read((t) => t.now())
        expect(Math.abs(now.getTime() - Date.now())).toBeLessThan(60_000)
      })

      it("fires once at the due time, in a transaction with the handler's writes", async () => {
        const { fired, handler } = recorder()
        await run("t-once", handler)
        await sleep(100)
        const due = Date.now() + 1000
        await arm("once:1", "t-once", new Date(due), { a: 1 })
        await sleep(600)
        expect(fired).toEqual([])
        await waitFor(() => fired.length === 1, 5000)
        expect(fired[0]!.at).toBeGreaterThanOrEqual(due - 20)
        expect(fired[0]!.at).toBeLessThan(due + 1500)
        expect(fired[0]!.payload).toEqual({ a: 1 })
        expect(fired[0]!.attempts).toBe(0)
        await sleep(500)
        expect(fired.length).toBe(1)
        expect(await get("once:1")).toBeUndefined()
        expect(await firedEvents()).toEqual(["once:1"])
      })

      it("fires deadlines that came due before the loop started, oldest first", async () => {
        await arm("past:2", "t-past", new Date(Date.now() - 5_000))
        await arm("past:1", "t-past", new Date(Date.now() - 10_000))
        await arm("future", "t-past", new Date(Date.now() + 3_600_000))
        const { fired, handler } = recorder()
        const started = Date.now()
        await run("t-past", handler)
        await waitFor(() => fired.length === 2, 5000)
        expect(Date.now() - started).toBeLessThan(1500)
        expect(fired.map((f) => f.key)).toEqual(["past:1", "past:2"])
        expect(await get("future")).toBeDefined()
      })

      it("a re-armed deadline fires at its new time; a cancelled one never", async () => {
        const { fired, handler } = recorder()
        await run("t-move", handler)
        await arm("move", "t-move", new Date(Date.now() + 300))
        await arm("cancel", "t-move", new Date(Date.now() + 300))
        const moved = Date.now() + 1500
        await arm("move", "t-move", new Date(moved))
        await write((t) => t.cancelDeadline("cancel"))
        await sleep(900)
        expect(fired).toEqual([])
        await waitFor(() => fired.length === 1, 5000)
        expect(fired[0]!.key).toBe("move")
        expect(fired[0]!.at).toBeGreaterThanOrEqual(moved - 20)
        await sleep(300)
        expect(fired.map((f) => f.key)).toEqual(["move"])
      })

      it("a deadline armed in a rolled-back transaction never fires", async () => {
        const { fired, handler } = recorder()
        await run("t-rollback", handler)
        const exit = await failing((t) =>
          t.armDeadline({ key: "rolled", kind: "t-rollback", dueAt: new Date(Date.now() + 200), payload: {} })
        )
        expect(exit._tag).toBe("Failure")
        expect(await get("rolled")).toBeUndefined()
        await sleep(1000)
        expect(fired).toEqual([])
      })

      it("wakes a sleeping loop when an earlier deadline is armed, and fires only its kinds", async () => {
        const { fired, handler } = recorder()
        await arm("far", "t-wake", new Date(Date.now() + 50_000))
        await run(["t-wake", "t-wake-2"], handler)
        await sleep(300)
        const due = Date.now() + 300
        await arm("near", "t-wake-2", new Date(due))
        await arm("other-kind", "t-not-mine", new Date(due))
        await waitFor(() => fired.length === 1, 5000)
        expect(fired[0]!.key).toBe("near")
        expect(fired[0]!.at).toBeLessThan(due + 1500)
        await sleep(300)
        expect(fired.length).toBe(1)
        expect(await get("other-kind")).toBeDefined()
      })

      it("retries a failing handler with backoff, undoing only its writes, and never loses it", async () => {
        const runs: Array<{ key: string; attempts: number }> = []
        const errors: unknown[] = []
        await run(
          "t-fail",
          (d, t) =>
            Effect.gen(function* () {
              runs.push({ key: d.key, attempts: d.attempts })
              yield* t.appendEvents([resolved(d.key)], new Date())
              if (d.key === "flaky" && d.attempts < 2) return yield* Effect.fail(new Boom())
              if (d.key === "defect" && d.attempts < 1) throw new Error("handler threw")
            }),
          { retryDelayMs: 100, onError: (error) => void errors.push(error) }
        )
        const due = new Date(Date.now() + 100)
        await write((t) =>
          t.armDeadlines([
            { key: "flaky", kind: "t-fail", dueAt: due, payload: {} },
            { key: "fine", kind: "t-fail", dueAt: due, payload: {} },
            { key: "defect", kind: "t-fail", dueAt: due, payload: {} }
          ])
        )
        await waitFor(async () => (await firedEvents()).length === 3, 10_000)
        await sleep(500)
        expect((await firedEvents()).sort()).toEqual(["defect", "fine", "flaky"])
        // A store may run a batch's handlers again after one fails (their writes commit once):
        // the attempts seen only grow, and each failure is reported once.
        const attemptsOf = (key: string) => [
          ...new Set(runs.filter((r) => r.key === key).map((r) => r.attempts))
        ]
        expect(attemptsOf("flaky")).toEqual([0, 1, 2])
        expect(attemptsOf("defect")).toEqual([0, 1])
        expect(attemptsOf("fine")).toEqual([0])
        expect(errors.length).toBe(3)
        expect(await get("flaky")).toBeUndefined()
      })

      it("keeps a deadline the handler re-arms under its own key", async () => {
        const runs: number[] = []
        await run("t-again", (d, t) =>
          Effect.gen(function* () {
            runs.push(Date.now())
            if (runs.length < 2)
              yield* t.armDeadline({ ...d, dueAt: new Date(Date.now() + 200), payload: { round: 2 } })
          })
        )
        await arm("again", "t-again", new Date(Date.now() + 100), { round: 1 })
        await waitFor(() => runs.length === 2, 5000)
        await sleep(400)
        expect(runs.length).toBe(2)
        expect(await get("again")).toBeUndefined()
      })
    })

    describe("sla state", () => {
      const state = (startedMs: number, warned = false): SlaClockState => ({
        responded: warned,
        clocks: [
          {
            target: "first_response",
            policyId: "std",
            policyVersion: "v1",
            targetMs: 60_000,
            startedAt: at(startedMs),
            channel: "email",
            state: "running",
            usedMs: 0,
            runningSince: at(startedMs),
            warnAt: warned ? undefined : at(startedMs + 48_000),
            dueAt: at(startedMs + 60_000),
            warned,
            breached: false
          }
        ]
      })
      const outcome = (n: number, extra: Partial<SlaOutcome> = {}): SlaOutcome => ({
        conversationId: `k${n % 3}` as ConversationId,
        target: n % 2 === 0 ? "first_response" : "resolution",
        startedAt: at(n * 1000),
        policyId: n % 4 === 0 ? "vip" : "std",
        channel: n % 3 === 0 ? undefined : "email",
        team: "t1",
        agent: `a${n % 2}`,
        at: at(100_000 + n * 1000),
        dueAt: at(60_000 + n * 1000),
        breached: n % 5 === 0,
        businessMs: n % 7 === 0 ? undefined : n * 100,
        ...extra
      })

      it("clock rows round-trip, upsert by conversation, and come with the store's clock", async () => {
        await write((t) => t.insertConversations([conversation("k1", "c1", 10)]))
        const empty = await write((t) => t.getSlaClocks(["k1" as ConversationId]))
        expect(empty.rows).toEqual([])
        expect(Math.abs(empty.now.getTime() - Date.now())).toBeLessThan(60_000)
        await write((t) =>
          t.putSlaClocks([
            { conversationId: "k1" as ConversationId, state: state(1) },
            { conversationId: "k1" as ConversationId, state: state(2, true) }
          ])
        )
        const { rows, conversations } = await write((t) =>
          t.getSlaClocks(["k1" as ConversationId, "k2" as ConversationId], { withConversations: true })
        )
        expect(rows).toEqual([{ conversationId: "k1", state: state(2, true) }])
        expect(conversations.map((c) => c.id)).toEqual(["k1"])
        expect(conversations[0]).toEqual(conversation("k1", "c1", 10))
      })

      it("clock rows and outcomes roll back with their transaction", async () => {
        await failing((t) =>
          t.putSlaClocks([{ conversationId: "k1" as ConversationId, state: state(1) }], [outcome(1)])
        )
        expect((await read((t) => t.getSlaClocks(["k1" as ConversationId]))).rows).toEqual([])
        const report = await read((t) => t.slaReport({ from: at(0), to: at(10_000_000), groupBy: "policy" }))
        expect(report).toEqual([])
      })

      it("outcomes: one per cycle, a breach stays a breach, a late business time fills in", async () => {
        const breach = outcome(2, { breached: true, businessMs: undefined })
        await write((t) => t.putSlaClocks([], [breach]))
        await write((t) =>
          t.putSlaClocks([], [{ ...breach, breached: false, businessMs: 4200, at: at(9_000_000) }])
        )
        const lines = await read((t) =>
          t.slaReport({ from: breach.at, to: at(breach.at.getTime() + 1), groupBy: "agent" })
        )
        expect(lines).toEqual([
          { group: "a0", target: "first_response", cycles: 1, breaches: 1, p50Ms: 4200, p90Ms: 4200 }
        ])
      })

      it("reports group cycles decided in [from, to) with interpolated percentiles", async () => {
        const outcomes = Array.from({ length: 30 }, (_, n) => outcome(n))
        await write((t) => t.putSlaClocks([], outcomes))
        const query = { from: at(105_000), to: at(125_000), groupBy: "policy" as const }
        const lines = await read((t) => t.slaReport(query))
        const sorted = [...lines].sort((a, b) =>
          `${a.group}${a.target}`.localeCompare(`${b.group}${b.target}`)
        )
        expect(sorted).toEqual(
          [...aggregateSlaOutcomes(outcomes, query)].sort((a, b) =>
            `${a.group}${a.target}`.localeCompare(`${b.group}${b.target}`)
          )
        )
        expect(sorted.reduce((n, l) => n + l.cycles, 0)).toBe(20)
        const byChannel = await read((t) => t.slaReport({ ...query, groupBy: "channel" }))
        expect(byChannel.some((l) => l.group === null)).toBe(true)
      })

      it("policy versions are recorded once; only new ones come back", async () => {
        const v1 = { id: "std", version: "v1", policy: { id: "std", targets: { firstResponse: 1 } } }
        const v2 = { id: "std", version: "v2", policy: { id: "std", targets: { firstResponse: 2 } } }
        expect(await write((t) => t.recordSlaPolicies([v1]))).toEqual([v1])
        expect(await write((t) => t.recordSlaPolicies([v1, v2]))).toEqual([v2])
        const found = await read((t) =>
          t.getSlaPolicies([
            { id: "std", version: "v2" },
            { id: "std", version: "v3" }
          ])
        )
        expect(found).toEqual([v2])
      })
    })

    describe("jobs", () => {
      const start = (queue: string, handler: (job: Job) => Effect.Effect<void, JobRetry>, concurrency = 1) =>
        Effect.runPromise(Scope.extend(store.work(queue, handler, { concurrency }), scope))

      it("runs a job enqueued in a committed transaction promptly", async () => {
        await Effect.runPromise(
          store.defineQueue("q-run", { retryLimit: 1, retryDelayMs: 10, backoff: false })
        )
        const ran: Job[] = []
        await start("q-run", (job) => Effect.sync(() => void ran.push(job)))
        await new Promise((r) => setTimeout(r, 200))
        const enqueuedAt = Date.now()
        await write((t) => t.enqueueJob({ queue: "q-run", payload: { messageId: "m1", n: 2 } }))
        await waitFor(() => ran.length === 1)
        expect(Date.now() - enqueuedAt).toBeLessThan(1500)
        expect(ran[0]?.payload).toEqual({ messageId: "m1", n: 2 })
        expect(ran[0]?.queue).toBe("q-run")
        expect(ran[0]?.attempt).toBe(1)
        expect(ran[0]?.lastAttempt).toBe(false)
        expect(typeof ran[0]?.id).toBe("string")
      })

      it("runs jobs enqueued before the worker started and on queues never defined", async () => {
        await write((t) => t.enqueueJob({ queue: "q-undefined", payload: { n: 1 } }))
        const ran: Job[] = []
        await start("q-undefined", (job) => Effect.sync(() => void ran.push(job)))
        await waitFor(() => ran.length === 1)
        expect(ran[0]?.lastAttempt).toBe(true)
      })

      it("dedupes jobs by key", async () => {
        await Effect.runPromise(
          store.defineQueue("q-key", { retryLimit: 0, retryDelayMs: 10, backoff: false })
        )
        await write((t) =>
          Effect.zipRight(
            t.enqueueJob({ queue: "q-key", payload: { n: 1 }, key: "k" }),
            t.enqueueJob({ queue: "q-key", payload: { n: 2 }, key: "k" })
          )
        )
        await write((t) => t.enqueueJob({ queue: "q-key", payload: { n: 3 }, key: "k" }))
        await write((t) => t.enqueueJob({ queue: "q-key", payload: { n: 4 }, key: "other" }))
        const ran: number[] = []
        await start("q-key", (job) => Effect.sync(() => void ran.push(job.payload.n as number)))
        await waitFor(() => ran.length >= 2)
        await new Promise((r) => setTimeout(r, 1200))
        expect(ran.sort()).toEqual([1, 4])
      })

      it("honours runAt", async () => {
        await Effect.runPromise(
          store.defineQueue("q-later", { retryLimit: 0, retryDelayMs: 10, backoff: false })
        )
        const ran: number[] = []
        await start("q-later", () => Effect.sync(() => void ran.push(Date.now())))
        const due = Date.now() + 1500
        await write((t) => t.enqueueJob({ queue: "q-later", payload: {}, runAt: new Date(due) }))
        await new Promise((r) => setTimeout(r, 800))
        expect(ran).toEqual([])
        await waitFor(() => ran.length === 1)
        expect(ran[0]).toBeGreaterThanOrEqual(due - 50)
        expect(ran[0]).toBeLessThan(due + 1500)
      })

      it("retries per the queue policy and dead-letters after the last attempt", async () => {
        await Effect.runPromise(
          store.defineQueue("q-retry", { retryLimit: 2, retryDelayMs: 10, backoff: false })
        )
        const runs: Job[] = []
        await start("q-retry", (job) =>
          Effect.suspend(() => {
            runs.push(job)
            return job.payload.heal === true && job.attempt === 2
              ? Effect.void
              : Effect.fail<JobRetry>({ _tag: "JobRetry", reason: `failure ${job.attempt}` })
          })
        )
        await write((t) =>
          Effect.zipRight(
            t.enqueueJob({ queue: "q-retry", payload: { name: "doomed" } }),
            t.enqueueJob({ queue: "q-retry", payload: { name: "heals", heal: true } })
          )
        )
        await waitFor(async () => (await Effect.runPromise(store.deadJobs("q-retry"))).length === 1, 20_000)
        const doomed = runs.filter((j) => j.payload.name === "doomed")
        expect(doomed.map((j) => [j.attempt, j.lastAttempt])).toEqual([
          [1, false],
          [2, false],
          [3, true]
        ])
        expect(new Set(doomed.map((j) => j.id)).size).toBe(1)
        const [dead] = await Effect.runPromise(store.deadJobs("q-retry"))
        expect(dead?.id).toBe(doomed[0]?.id)
        expect(dead?.queue).toBe("q-retry")
        expect(dead?.payload).toEqual({ name: "doomed" })
        expect(dead?.reason).toContain("failure 3")
        expect(dead?.attempts).toBe(3)
        const heals = runs.filter((j) => j.payload.name === "heals")
        expect(heals.map((j) => j.attempt)).toEqual([1, 2])
        expect(await Effect.runPromise(store.deadJobs("q-other"))).toEqual([])
      })

      it("wakes the workers of every queue for each job, however their wake-ups interleave", async () => {
        const ran: string[] = []
        for (const queue of ["q-wake-a", "q-wake-b"]) {
          await Effect.runPromise(
            store.defineQueue(queue, { retryLimit: 0, retryDelayMs: 10, backoff: false })
          )
          await start(queue, (job) => Effect.sync(() => void ran.push(`${queue}:${job.payload.n}`)))
        }
        await new Promise((r) => setTimeout(r, 100))
        // One job at a time, alternating queues: each must run promptly, not at a poll timeout.
        for (let n = 0; n < 6; n++) {
          const queue = n % 2 === 0 ? "q-wake-a" : "q-wake-b"
          await write((t) => t.enqueueJob({ queue, payload: { n } }))
          await waitFor(() => ran.includes(`${queue}:${n}`), 5_000)
        }
        expect(ran).toHaveLength(6)
      })

      it("runs jobs concurrently up to the requested concurrency", async () => {
        await Effect.runPromise(
          store.defineQueue("q-conc", { retryLimit: 0, retryDelayMs: 10, backoff: false })
        )
        let running = 0
        let peak = 0
        let done = 0
        await start(
          "q-conc",
          () =>
            Effect.gen(function* () {
              running++
              peak = Math.max(peak, running)
              yield* Effect.sleep("300 millis")
              running--
              done++
            }),
          3
        )
        await write((t) =>
          Effect.forEach([1, 2, 3, 4, 5, 6], (n) => t.enqueueJob({ queue: "q-conc", payload: { n } }), {
            discard: true
          })
        )
        await waitFor(() => done === 6, 20_000)
        expect(peak).toBeGreaterThan(1)
        expect(peak).toBeLessThanOrEqual(3)
      })
    })
  })
}
