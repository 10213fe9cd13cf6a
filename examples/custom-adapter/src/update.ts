import type { InboundEnvelopeInput } from "@dialogi/core"
import { Schema } from "effect"
import { channel } from "./capabilities.ts"

// The part of the Bot API's Update object this adapter reads (https://core.telegram.org/bots/api#update).
// Struct decoding ignores the many other fields, so new Bot API fields never break the adapter.
const TelegramMessage = Schema.Struct({
  message_id: Schema.Number,
  from: Schema.optional(Schema.Struct({ id: Schema.Number, first_name: Schema.String })),
  chat: Schema.Struct({ id: Schema.Number, type: Schema.String }),
  date: Schema.Number,
  text: Schema.optional(Schema.String),
  caption: Schema.optional(Schema.String)
})

/** One webhook call's body. */
export const Update = Schema.Struct({ update_id: Schema.Number, message: Schema.optional(TelegramMessage) })

export const decodeUpdate = Schema.decodeUnknownEither(Schema.parseJson(Update))

/** The envelope of an update; undefined for what this example skips: edits, groups, messages without text. */
export const toEnvelope = (update: typeof Update.Type): InboundEnvelopeInput | undefined => {
  const message = update.message
  const text = message?.text ?? message?.caption
  if (message?.chat.type !== "private" || text === undefined || text.trim() === "") return undefined
  return {
    channel,
    // message_id is unique per chat only, so the chat id is part of the dedupe key.
    providerMessageId: `${message.chat.id}:${message.message_id}`,
    // Telegram authenticated the user and the secret token proves the call is Telegram's.
    from: { address: String(message.chat.id), verified: true, name: message.from?.first_name },
    parts: [{ _tag: "text", text }],
    sentAt: message.date * 1000,
    metadata: { updateId: update.update_id }
  }
}
