import {
  BusinessCalendar,
  type ChannelName,
  Contact,
  type ContactId,
  Conversation,
  type ConversationId,
  EventBody,
  Identity,
  type MergeId,
  Message,
  type MessageId,
  SlaPolicy
} from "@dialogi/core"
import { Schema } from "effect"
import { expect, it } from "vitest"
import { encodeEventBody } from "../src/rows.js"

const email = "email" as ChannelName
const conversationId = "k1" as ConversationId
const contactId = "c1" as ContactId
const message = (providerMessageId?: string) =>
  new Message({
    id: "m1" as MessageId,
    conversationId,
    direction: "inbound",
    author: { _tag: "agent", id: "a" },
    channel: email,
    parts: [
      { _tag: "text", text: "hi" },
      { _tag: "voice", recording: { ref: "r", contentType: "audio/ogg" }, durationSeconds: 3 }
    ],
    visibility: "public",
    ...(providerMessageId === undefined ? {} : { providerMessageId }),
    status: { _tag: "failed", reason: "x", retryable: true },
    createdAt: new Date(1000),
    sentAt: new Date(2000)
  })
const conversation = (lastInboundAt?: Date) =>
  new Conversation({
    id: conversationId,
    contactId,
    status: "open",
    assignee: { _tag: "team", id: "t" },
    priority: "high",
    tags: ["a"],
    externalRefs: [{ system: "crm", id: "1" }],
    ...(lastInboundAt === undefined ? {} : { lastInboundAt, lastInboundChannel: email }),
    lastMessageAt: new Date(3000),
    createdAt: new Date(4000),
    updatedAt: new Date(5000)
  })

const bodies: ReadonlyArray<EventBody> = [
  {
    _tag: "contact.created",
    contactId,
    contact: new Contact({
      id: contactId,
      name: "N",
      attributes: { plan: "pro", nested: { n: [1, 2] } },
      identities: [new Identity({ channel: email, address: "a@b", verified: true })],
      createdAt: new Date(6000)
    })
  },
  {
    _tag: "contact.created",
    contactId,
    contact: new Contact({ id: contactId, attributes: {}, identities: [], createdAt: new Date(7000) })
  },
  { _tag: "contact.linked", contactId, channel: email, address: "a@b", verified: false },
  {
    _tag: "contact.merge_suggested",
    contactId,
    candidateId: "c2" as ContactId,
    channel: email,
    address: "a@b",
    reason: "r"
  },
  { _tag: "contact.merged", mergeId: "g" as MergeId, contactId, absorbedId: "c2" as ContactId, reason: "r" },
  { _tag: "contact.unmerged", mergeId: "g" as MergeId, contactId, restoredId: "c2" as ContactId },
  { _tag: "conversation.opened", conversationId, conversation: conversation(new Date(8000)) },
  { _tag: "conversation.opened", conversationId, conversation: conversation() },
  { _tag: "conversation.status_changed", conversationId, from: "open", to: "snoozed" },
  { _tag: "conversation.resolved", conversationId },
  { _tag: "conversation.assigned", conversationId, from: { _tag: "none" }, to: { _tag: "bot", id: "b" } },
  { _tag: "message.received", conversationId, message: message("p") },
  { _tag: "message.queued", conversationId, message: message() },
  { _tag: "message.note_added", conversationId, message: message() },
  { _tag: "message.sent", conversationId, messageId: "m1" as MessageId, providerMessageId: "p" },
  { _tag: "message.status", conversationId, messageId: "m1" as MessageId, status: { _tag: "delivered" } },
  { _tag: "routing.queued", conversationId, teamId: "t" },
  { _tag: "routing.overflowed", conversationId, fromTeam: "t", toTeam: "u" },
  { _tag: "routing.overflow_stopped", conversationId, fromTeam: "u", toTeam: "t", reason: "overflow loop" },
  { _tag: "routing.returned", conversationId, participantId: "a" },
  {
    _tag: "handoff.requested",
    conversationId,
    handoffId: "h",
    from: { _tag: "bot", id: "b" },
    to: { _tag: "team", id: "t" },
    reason: "r",
    note: "n",
    summary: [
      {
        messageId: "m1",
        channel: "email",
        direction: "inbound",
        author: "contact",
        visibility: "public",
        text: "hi",
        at: 1000
      }
    ],
    expiresAt: 2000
  },
  { _tag: "handoff.accepted", conversationId, handoffId: "h", by: "a" },
  { _tag: "handoff.declined", conversationId, handoffId: "h", by: "a", reason: "r" },
  { _tag: "handoff.expired", conversationId, handoffId: "h" },
  {
    _tag: "callback.scheduled",
    conversationId,
    callbackId: "k",
    phone: "+358401000000",
    windowFrom: 1,
    windowTo: 2
  },
  { _tag: "callback.due", conversationId, callbackId: "k" },
  { _tag: "callback.in_progress", conversationId, callbackId: "k", by: "a" },
  { _tag: "callback.completed", conversationId, callbackId: "k" },
  { _tag: "callback.missed", conversationId, callbackId: "k", reason: "r" },
  { _tag: "callback.rebook_offered", conversationId, callbackId: "k", messageId: "m2", channel: "sms" },
  {
    _tag: "sla.warning",
    conversationId,
    policyId: "p",
    target: "first_response",
    dueAt: 9000,
    targetMs: 100,
    businessMs: 80
  },
  {
    _tag: "sla.breached",
    conversationId,
    policyId: "p",
    target: "resolution",
    targetMs: 100,
    businessMs: 100
  },
  {
    _tag: "sla.met",
    conversationId,
    policyId: "p",
    target: "next_response",
    dueAt: 9000,
    targetMs: 100,
    businessMs: 12.5
  },
  {
    _tag: "sla.policy_changed",
    policyId: "p",
    version: "0123456789abcdef",
    policy: new SlaPolicy({
      id: "p",
      match: { channels: [email], tags: ["vip"], contactAttributes: { plan: "gold" } },
      targets: { firstResponse: 100 },
      calendar: new BusinessCalendar({
        timeZone: "Europe/Helsinki",
        weekly: { monday: ["09:00-17:00"] },
        holidays: [{ date: "2026-12-24", hours: ["09:00-12:00"] }]
      })
    })
  },
  {
    _tag: "hook.ingest_vetoed",
    hook: "no-spam",
    reason: "spam",
    channel: "email",
    providerMessageId: "<v@example.com>",
    address: "a@example.com",
    senderContactId: contactId
  },
  { _tag: "hook.ingest_failed", conversationId, messageId: "m1" as MessageId, hook: "h", message: "boom" },
  { _tag: "hook.send_vetoed", conversationId, hook: "h", reason: "no", channel: "email" },
  { _tag: "hook.send_failed", conversationId, hook: "h", message: "boom" },
  {
    _tag: "conversation.enriched",
    conversationId,
    hooks: ["vip"],
    addedTags: ["vip"],
    priority: { from: "normal", to: "high" }
  },
  {
    _tag: "csat.requested",
    conversationId,
    surveyId: "csat_1",
    channel: "email",
    scale: "five",
    messageId: "m1" as MessageId
  },
  {
    _tag: "csat.answered",
    conversationId,
    surveyId: "csat_1",
    scale: "thumbs",
    rating: 1,
    satisfied: true,
    comment: "thanks",
    messageId: "m2" as MessageId
  },
  { _tag: "csat.skipped", conversationId, surveyId: "csat_1" }
]

it("encodes every kind of event body exactly like Schema.encode, as stored JSON", () => {
  const tags = new Set(bodies.map((b) => b._tag))
  expect(tags.size).toBe(EventBody.members.length)
  const encode = Schema.encodeSync(EventBody)
  const decode = Schema.decodeUnknownSync(EventBody)
  for (const body of bodies) {
    const stored = JSON.parse(JSON.stringify(encodeEventBody(body)))
    expect(stored).toStrictEqual(JSON.parse(JSON.stringify(encode(body))))
    expect(decode(stored)).toEqual(body)
  }
})
