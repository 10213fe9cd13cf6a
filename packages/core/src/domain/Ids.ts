import { Schema } from "effect"

/** Identifies a person, across every channel they use. */
export const ContactId = Schema.String.pipe(Schema.minLength(1), Schema.brand("@dialogi/ContactId"))
/** @see ContactId */
export type ContactId = typeof ContactId.Type

/** Identifies one conversation (one thread) of a contact. */
export const ConversationId = Schema.String.pipe(Schema.minLength(1), Schema.brand("@dialogi/ConversationId"))
/** @see ConversationId */
export type ConversationId = typeof ConversationId.Type

/** Identifies one message inside dialogi (not the provider's id). */
export const MessageId = Schema.String.pipe(Schema.minLength(1), Schema.brand("@dialogi/MessageId"))
/** @see MessageId */
export type MessageId = typeof MessageId.Type

/** Identifies an audited contact merge, so that it can be undone. */
export const MergeId = Schema.String.pipe(Schema.minLength(1), Schema.brand("@dialogi/MergeId"))
/** @see MergeId */
export type MergeId = typeof MergeId.Type

/**
 * A channel name such as `email`, `sms`, `messenger` or `chat`. Open-ended so that a plugin
 * author can add a channel without touching core.
 */
export const ChannelName = Schema.String.pipe(
  Schema.pattern(/^[a-z][a-z0-9_-]{0,31}$/),
  Schema.brand("@dialogi/ChannelName")
)
/** @see ChannelName */
export type ChannelName = typeof ChannelName.Type

/**
 * A position in the global event log. Events are numbered without gaps in commit order, so
 * "everything after N" is a complete, resumable cursor.
 */
export const EventSeq = Schema.Number.pipe(
  Schema.int(),
  Schema.nonNegative(),
  Schema.brand("@dialogi/EventSeq")
)
/** @see EventSeq */
export type EventSeq = typeof EventSeq.Type

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
// Random bytes are drawn 4 KiB at a time: one getRandomValues call per id cost ~4% of ingest CPU.
const randomPool = new Uint8Array(4096)
let randomOffset = randomPool.length
let lastTime = 0
let sequence = 0

const base32 = (value: number, length: number): string => {
  let out = ""
  for (let i = 0; i < length; i++) {
    out = alphabet[value % 32] + out
    value = Math.floor(value / 32)
  }
  return out
}

/**
 * Time-ordered random id: 48 bits of milliseconds, a per-process sequence for ids made in the
 * same millisecond (so a note and a reply written back to back keep their order), then 60
 * random bits, in Crockford base32; ids sort by creation time and index well in B-trees.
 */
export const newId = (prefix: string): string => {
  const now = Date.now()
  if (now > lastTime) {
    lastTime = now
    sequence = 0
  } else sequence += 1
  if (randomOffset + 12 > randomPool.length) {
    crypto.getRandomValues(randomPool)
    randomOffset = 0
  }
  let tail = ""
  for (let i = randomOffset; i < randomOffset + 12; i++) tail += alphabet[randomPool[i]! % 32]
  randomOffset += 12
  return `${prefix}_${base32(lastTime, 10)}${base32(sequence, 4)}${tail}`
}
