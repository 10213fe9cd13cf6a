import type { InboundEnvelopeInput } from "@dialogi/core"
import { findBodyMarkers, parseMessageId, parseReplyAddress, type ThreadSigner } from "./ThreadToken.js"

/** The headers threading looks at, already split into bare ids and addresses. */
export interface ThreadHeaders {
  /** Message ids (without angle brackets) from In-Reply-To, in header order. */
  readonly inReplyTo: ReadonlyArray<string>
  /** Message ids from References, oldest first as RFC 5322 3.6.4 orders them. */
  readonly references: ReadonlyArray<string>
  /** Every address the mail was sent to: To, Cc, Delivered-To, X-Original-To. */
  readonly recipients: ReadonlyArray<string>
}

/** What the resolver needs besides the mail: how to check our tokens and which mailboxes are ours. */
export interface ThreadKeys {
  readonly signer: ThreadSigner
  /** Our mailbox addresses, to recognise a plus-tagged reply address as ours. */
  readonly mailboxes: ReadonlyArray<string>
}

/** How an inbound mail joins a thread, and why. */
export type ThreadMatch =
  | {
      /** A verified token of ours named the conversation. */
      readonly kind: "reply-token" | "our-message-id" | "body-marker"
      readonly conversationId: string
      readonly reason: string
    }
  | {
      /** Foreign ids the hub may follow, only within the sender's own conversations. */
      readonly kind: "references"
      readonly reason: string
    }
  | {
      /** Nothing to go by: the hub's default, the sender's open conversation. */
      readonly kind: "contact-open"
      readonly reason: string
    }

/** A token that looked like ours but failed verification, kept for the audit trail. */
export interface RejectedToken {
  readonly source: "reply-address" | "message-id" | "body-marker"
  readonly value: string
  readonly why: string
}

/** The resolver's answer: the match, the ids to hint, and the tokens it refused. */
export interface ThreadResolution {
  readonly match: ThreadMatch
  /** Ids for core's `inReplyTo` hint, least relevant first (core tries the last first). */
  readonly inReplyTo: ReadonlyArray<string>
  readonly rejected: ReadonlyArray<RejectedToken>
}

const unique = (ids: ReadonlyArray<string>): Array<string> => {
  const seen = new Set<string>()
  const out: Array<string> = []
  for (const id of ids) {
    if (id.length === 0 || seen.has(id)) continue
    seen.add(id)
    out.push(id)
  }
  return out
}

/**
 * Decides which thread an inbound mail belongs to. Pure: same input, same answer.
 *
 * Order: a signed reply address, then our signed Message-IDs in In-Reply-To/References, then
 * the hidden body marker (for providers that rewrite Message-ID), then foreign
 * In-Reply-To/References, then the sender's open conversation. Every token of ours is bound
 * to the address we sent it to, so a forwarded mail, a newsletter reply or a guessed id from
 * another sender never names a stranger's thread; foreign ids are only hints that core follows
 * within the sender's own conversations.
 */
export const resolveThread = (
  headers: ThreadHeaders,
  body: string,
  sender: string,
  keys: ThreadKeys
): ThreadResolution => {
  const from = sender.trim().toLowerCase()
  const rejected: Array<RejectedToken> = []
  // In-Reply-To names the direct parent: it goes last so that core tries it first.
  const chain = unique([...headers.references, ...headers.inReplyTo])
  const foreign = chain.filter((id) => parseMessageId(id) === undefined)
  const ours: Array<string> = []
  const verifiedConversation = (source: RejectedToken["source"], value: string, ok: boolean, id: string) => {
    if (ok) return id
    rejected.push({ source, value, why: "signature does not match this sender" })
    return undefined
  }

  let match: ThreadMatch | undefined
  for (const recipient of headers.recipients) {
    const token = parseReplyAddress(recipient, keys.mailboxes)
    if (!token) continue
    const ok = keys.signer.verify("reply-address", [token.conversationId, from], token.mac)
    const id = verifiedConversation("reply-address", recipient, ok, token.conversationId)
    if (id !== undefined && match === undefined)
      match = { kind: "reply-token", conversationId: id, reason: `reply address ${recipient}` }
  }

  // Walk newest first: the direct parent decides when a chain mixes conversations.
  for (const value of [...chain].reverse()) {
    const parsed = parseMessageId(value)
    if (!parsed) continue
    const ok = keys.signer.verify("message-id", [parsed.messageId, parsed.conversationId, from], parsed.mac)
    const id = verifiedConversation("message-id", value, ok, parsed.conversationId)
    if (id === undefined) continue
    ours.push(value)
    if (match === undefined)
      match = { kind: "our-message-id", conversationId: id, reason: `replies to ${value}` }
  }

  if (match === undefined) {
    for (const marker of findBodyMarkers(body)) {
      const ok = keys.signer.verify("body-marker", [marker.conversationId, from], marker.mac)
      const id = verifiedConversation(
        "body-marker",
        `${marker.conversationId}.${marker.mac}`,
        ok,
        marker.conversationId
      )
      if (id !== undefined) {
        match = { kind: "body-marker", conversationId: id, reason: "hidden marker in the quoted text" }
        break
      }
    }
  }

  const inReplyTo = chain.filter((id) => foreign.includes(id) || ours.includes(id))
  if (match === undefined)
    match =
      foreign.length > 0
        ? {
            kind: "references",
            reason: `follows ${foreign.length} foreign reference(s) within the sender's threads`
          }
        : {
            kind: "contact-open",
            reason: rejected.length > 0 ? "only forged or foreign tokens" : "no threading headers"
          }
  return { match, inReplyTo, rejected }
}

/** Core's threading hint as an adapter writes it (plain strings). */
export type ThreadingHintInput = NonNullable<InboundEnvelopeInput["threading"]>

/** Maps a resolution onto core's hint: a verified conversation id, and the ids to follow. */
export const toThreadingHint = (resolution: ThreadResolution): ThreadingHintInput | undefined => {
  const conversationId =
    resolution.match.kind === "reply-token" ||
    resolution.match.kind === "our-message-id" ||
    resolution.match.kind === "body-marker"
      ? resolution.match.conversationId
      : undefined
  if (conversationId === undefined && resolution.inReplyTo.length === 0) return undefined
  return {
    ...(conversationId !== undefined ? { conversationId } : {}),
    ...(resolution.inReplyTo.length > 0 ? { inReplyTo: [...resolution.inReplyTo] } : {})
  }
}
