import { describe, expect, it } from "vitest"
import { resolveThread, type ThreadHeaders, toThreadingHint } from "../src/resolveThread.js"
import {
  formatBodyMarker,
  formatMessageId,
  formatReplyAddress,
  makeThreadSigner
} from "../src/ThreadToken.js"

const signer = makeThreadSigner("test-secret-0123456789")
const keys = { signer, mailboxes: ["support@example.com"] }
const anna = "anna@customer.example"
const mallory = "mallory@evil.example"
const annaConversation = "cv_0anna0000000000000000000"

const headers = (over: Partial<ThreadHeaders> = {}): ThreadHeaders => ({
  inReplyTo: [],
  references: [],
  recipients: ["support@example.com"],
  ...over
})
const ourId = (recipient: string, conversationId = annaConversation) =>
  formatMessageId(signer, { messageId: "msg_0out", conversationId, recipient, domain: "example.com" })

describe("resolveThread", () => {
  it("joins the thread named by a reply address signed for the sender", () => {
    const replyTo = formatReplyAddress(signer, {
      mailbox: "support@example.com",
      conversationId: annaConversation,
      recipient: anna
    })!
    const r = resolveThread(headers({ recipients: [replyTo] }), "", anna, keys)
    expect(r.match).toMatchObject({ kind: "reply-token", conversationId: annaConversation })
    expect(toThreadingHint(r)).toEqual({ conversationId: annaConversation })
  })

  it("matches a reply address whose local part an MTA lower-cased or upper-cased", () => {
    const replyTo = formatReplyAddress(signer, {
      mailbox: "support@example.com",
      conversationId: annaConversation,
      recipient: anna
    })!
    const r = resolveThread(
      headers({ recipients: [replyTo.toUpperCase()] }),
      "",
      "Anna@Customer.Example",
      keys
    )
    expect(r.match.kind).toBe("reply-token")
  })

  it("refuses a reply address forwarded to, or forged by, another sender", () => {
    const replyTo = formatReplyAddress(signer, {
      mailbox: "support@example.com",
      conversationId: annaConversation,
      recipient: anna
    })!
    const r = resolveThread(headers({ recipients: [replyTo] }), "", mallory, keys)
    expect(r.match.kind).toBe("contact-open")
    expect(r.rejected).toEqual([expect.objectContaining({ source: "reply-address", value: replyTo })])
    expect(toThreadingHint(r)).toBeUndefined()
  })

  it("refuses a token signed with another secret or with a guessed mac", () => {
    const other = makeThreadSigner("someone-elses-secret")
    const forged = formatReplyAddress(other, {
      mailbox: "support@example.com",
      conversationId: annaConversation,
      recipient: mallory
    })!
    const guessed = `support+${annaConversation}.0000000000000000@example.com`
    const r = resolveThread(headers({ recipients: [forged, guessed] }), "", mallory, keys)
    expect(r.match.kind).toBe("contact-open")
    expect(r.rejected).toHaveLength(2)
  })

  it("ignores plus tags on addresses that are not our mailboxes", () => {
    const foreign = formatReplyAddress(signer, {
      mailbox: "sales@elsewhere.example",
      conversationId: annaConversation,
      recipient: anna
    })!
    const r = resolveThread(headers({ recipients: [foreign] }), "", anna, keys)
    expect(r.match.kind).toBe("contact-open")
    expect(r.rejected).toEqual([])
  })

  it("joins by our signed Message-ID in In-Reply-To", () => {
    const r = resolveThread(headers({ inReplyTo: [ourId(anna)], references: [ourId(anna)] }), "", anna, keys)
    expect(r.match).toMatchObject({ kind: "our-message-id", conversationId: annaConversation })
    expect(toThreadingHint(r)).toEqual({ conversationId: annaConversation, inReplyTo: [ourId(anna)] })
  })

  it("does not let our Message-ID in another sender's References name the thread", () => {
    const r = resolveThread(headers({ references: ["x@newsletter.example", ourId(anna)] }), "", mallory, keys)
    expect(r.match.kind).toBe("references")
    expect(r.rejected).toEqual([expect.objectContaining({ source: "message-id" })])
    // Only the foreign id is left as a hint, and core follows it only within mallory's threads.
    expect(toThreadingHint(r)).toEqual({ inReplyTo: ["x@newsletter.example"] })
  })

  it("prefers the direct parent when References mixes two of the sender's conversations", () => {
    const older = ourId(anna, "cv_0older00000000000000000")
    const r = resolveThread(
      headers({ references: [older, ourId(anna)], inReplyTo: [ourId(anna)] }),
      "",
      anna,
      keys
    )
    expect(r.match).toMatchObject({ conversationId: annaConversation })
  })

  it("falls back to the hidden body marker when a provider rewrote our Message-ID", () => {
    const marker = formatBodyMarker(signer, { conversationId: annaConversation, recipient: anna })
    const body = `Thanks!\n\nOn Mon, Support wrote:\n> Hello Anna\n> ${marker}\n`
    const r = resolveThread(headers({ inReplyTo: ["rewritten@outlook.example"] }), body, anna, keys)
    expect(r.match).toMatchObject({ kind: "body-marker", conversationId: annaConversation })
    expect(toThreadingHint(r)).toEqual({
      conversationId: annaConversation,
      inReplyTo: ["rewritten@outlook.example"]
    })
  })

  it("refuses a body marker copied into another sender's mail", () => {
    const marker = formatBodyMarker(signer, { conversationId: annaConversation, recipient: anna })
    const r = resolveThread(headers(), `see ${marker}`, mallory, keys)
    expect(r.match.kind).toBe("contact-open")
    expect(r.rejected).toEqual([expect.objectContaining({ source: "body-marker" })])
  })

  it("a token of one kind never passes as another", () => {
    const marker = formatBodyMarker(signer, { conversationId: annaConversation, recipient: anna })
    const mac = marker.slice(marker.lastIndexOf(".") + 1, -1)
    const r = resolveThread(
      headers({ recipients: [`support+${annaConversation}.${mac}@example.com`] }),
      "",
      anna,
      keys
    )
    expect(r.match.kind).toBe("contact-open")
  })

  it("hands foreign In-Reply-To/References to core, direct parent last", () => {
    const r = resolveThread(headers({ references: ["a@x", "b@x"], inReplyTo: ["c@x"] }), "", anna, keys)
    expect(r.match.kind).toBe("references")
    expect(toThreadingHint(r)).toEqual({ inReplyTo: ["a@x", "b@x", "c@x"] })
  })

  it("verifies with a rotated-out secret", () => {
    const rotated = makeThreadSigner(["new-secret", "test-secret-0123456789"])
    const r = resolveThread(headers({ inReplyTo: [ourId(anna)] }), "", anna, { ...keys, signer: rotated })
    expect(r.match.kind).toBe("our-message-id")
  })
})
