import { Effect, Exit, Layer, Schema } from "effect"
import { describe, expect, it } from "vitest"
import {
  Contact,
  type ContactId,
  Conversation,
  type ConversationId,
  firstMatchingPolicy,
  Hub,
  MemoryStore,
  policyVersion,
  SlaPolicy
} from "../../src/index.js"

const decode = Schema.decodeUnknownSync(SlaPolicy)

const conversation = (extra: Partial<Conversation> = {}) =>
  new Conversation({
    id: "cv_1" as ConversationId,
    contactId: "ct_1" as ContactId,
    status: "open",
    assignee: { _tag: "none" },
    priority: "normal",
    tags: [],
    externalRefs: [],
    lastMessageAt: new Date(0),
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...extra
  })

const contact = (attributes: Record<string, unknown>) =>
  new Contact({ id: "ct_1" as ContactId, attributes, identities: [], createdAt: new Date(0) })

describe("SlaPolicy", () => {
  const policies = [
    decode({ id: "gold", match: { contactAttributes: { plan: "gold" } }, targets: { firstResponse: 1 } }),
    decode({
      id: "urgent-chat",
      match: { channels: ["chat"], priorities: ["urgent"] },
      targets: { firstResponse: 2 }
    }),
    decode({ id: "billing", match: { tags: ["billing", "eu"] }, targets: { firstResponse: 3 } }),
    decode({ id: "night", match: { predicate: "afterHours" }, targets: { firstResponse: 4 } }),
    decode({ id: "default", targets: { firstResponse: 5 } })
  ]
  const match = (c: Conversation, channel: string, who?: Contact, afterHours = false) =>
    firstMatchingPolicy(
      policies,
      { conversation: c, channel, contact: who },
      { afterHours: () => afterHours }
    )?.id

  it("the first policy whose every condition holds wins", () => {
    expect(match(conversation(), "email", contact({ plan: "gold" }))).toBe("gold")
    expect(match(conversation({ priority: "urgent" }), "chat")).toBe("urgent-chat")
    expect(match(conversation({ priority: "urgent" }), "email")).toBe("default")
    expect(match(conversation({ tags: ["eu", "billing", "x"] }), "email")).toBe("billing")
    expect(match(conversation({ tags: ["billing"] }), "email")).toBe("default")
    expect(match(conversation(), "email", contact({ plan: "silver" }), true)).toBe("night")
    expect(match(conversation(), "email", undefined)).toBe("default")
  })

  it("is data: defaults filled in, bad input refused, the version follows the content", () => {
    const p = decode({ id: "p", targets: { resolution: 60_000 } })
    expect(p.warnAt).toBe(0.8)
    expect(p.pauseOn).toEqual(["waiting_on_customer", "snoozed"])
    expect(p.calendar.timeZone).toBe("UTC")
    expect(() => decode({ id: "p", targets: { firstResponse: 0 } })).toThrow()
    expect(() => decode({ id: "p", targets: {}, warnAt: 1 })).toThrow()
    expect(() =>
      decode({ id: "p", targets: {}, calendar: { timeZone: "Mars/Olympus", weekly: {} } })
    ).toThrow()
    expect(() => decode({ id: "has space", targets: {} })).toThrow()
    expect(policyVersion(p)).toBe(policyVersion(decode({ targets: { resolution: 60_000 }, id: "p" })))
    expect(policyVersion(p)).not.toBe(policyVersion(decode({ id: "p", targets: { resolution: 60_001 } })))
  })
})

describe("SLA through the Effect front door", () => {
  it("Hub.layer takes the policies; a bad one fails the layer with InvalidInput", async () => {
    const program = Effect.gen(function* () {
      const hub = yield* Hub.Hub
      const { conversationId } = yield* hub.ingest({
        channel: "email",
        providerMessageId: "<fx@example.com>",
        from: { address: "fx@example.com" },
        parts: [{ _tag: "text", text: "hi" }],
        sentAt: Date.now()
      })
      const expected = yield* hub.sla.expectedReply(conversationId)
      yield* hub.reply(conversationId, "hello", { channel: "email" }).pipe(Effect.ignore)
      const report = yield* hub.reports.sla({
        from: new Date(0),
        to: new Date(Date.now() + 1000),
        groupBy: "channel"
      })
      return { expected, report }
    })
    const live = Hub.layer({ sla: { policies: [{ id: "std", targets: { firstResponse: 60_000 } }] } }).pipe(
      Layer.provide(MemoryStore.layer)
    )
    const { expected } = await Effect.runPromise(Effect.provide(program, live))
    expect(expected).toMatchObject({ target: "first_response", policyId: "std", paused: false })

    const bad = Hub.layer({ sla: { policies: [{ id: "std", targets: { firstResponse: -1 } }] } }).pipe(
      Layer.provide(MemoryStore.layer)
    )
    const exit = await Effect.runPromiseExit(Effect.provide(program, bad))
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("InvalidInput")
    const report = await Effect.runPromiseExit(
      Effect.provide(
        Effect.flatMap(Hub.Hub, (hub) =>
          hub.reports.sla({ from: new Date(10), to: new Date(0), groupBy: "channel" })
        ),
        live
      )
    )
    expect(Exit.isFailure(report) && JSON.stringify(report.cause)).toContain("InvalidInput")
  })
})
