import { Schema } from "effect"

/** An input did not match its Schema; nothing was changed. */
export class InvalidInput extends Schema.TaggedError<InvalidInput>("@dialogi/InvalidInput")("InvalidInput", {
  what: Schema.String,
  message: Schema.String
}) {}

/** A referenced entity does not exist; nothing was changed. */
export class NotFound extends Schema.TaggedError<NotFound>("@dialogi/NotFound")("NotFound", {
  entity: Schema.Literal("contact", "conversation", "message", "merge", "channel"),
  id: Schema.String
}) {}

/** An address could not be normalized for its channel (e.g. not a phone number). */
export class InvalidAddress extends Schema.TaggedError<InvalidAddress>("@dialogi/InvalidAddress")(
  "InvalidAddress",
  { channel: Schema.String, address: Schema.String, message: Schema.String }
) {}

/** Why a reply cannot go out on a channel, known before anything is queued. */
export const ReplyRefusal = Schema.Union(
  Schema.TaggedStruct("NoIdentity", { channel: Schema.String }),
  Schema.TaggedStruct("NoAdapter", { channel: Schema.String }),
  Schema.TaggedStruct("WindowClosed", {
    channel: Schema.String,
    closedAt: Schema.DateFromNumber,
    alternatives: Schema.Array(Schema.String)
  }),
  Schema.TaggedStruct("NeedsTagOrTemplate", { channel: Schema.String, detail: Schema.String }),
  Schema.TaggedStruct("CapabilityMissing", { channel: Schema.String, capability: Schema.String }),
  Schema.TaggedStruct("TooLong", { channel: Schema.String, maxLength: Schema.Number, length: Schema.Number }),
  Schema.TaggedStruct("OptedOut", { channel: Schema.String, detail: Schema.String }),
  Schema.TaggedStruct("NoChannel", { detail: Schema.String }),
  /** The adapter's own check failed (its state store unreachable, say): refused, not guessed. */
  Schema.TaggedStruct("CheckFailed", { channel: Schema.String, detail: Schema.String })
)
/** @see ReplyRefusal */
export type ReplyRefusal = typeof ReplyRefusal.Type

/** `hub.reply` refused up front: nothing was queued or sent. */
export class ReplyRefused extends Schema.TaggedError<ReplyRefused>("@dialogi/ReplyRefused")("ReplyRefused", {
  conversationId: Schema.String,
  refusal: ReplyRefusal
}) {
  override get message(): string {
    return `[dialogi] reply refused on ${"channel" in this.refusal ? this.refusal.channel : "any channel"}: ${this.refusal._tag}`
  }
}

/** The store failed (connection lost, constraint broken); the operation was rolled back. */
export class StoreError extends Schema.TaggedError<StoreError>("@dialogi/StoreError")("StoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Unknown),
  /** True for failures that a retry can fix (serialization, deadlock, lost connection). */
  transient: Schema.Boolean
}) {}

/** A merge cannot be undone (already undone, or one side changed in a way that forbids it). */
export class MergeConflict extends Schema.TaggedError<MergeConflict>("@dialogi/MergeConflict")(
  "MergeConflict",
  {
    message: Schema.String
  }
) {}
