import { Either, ParseResult, Schema } from "effect"

// Meta sends ids as JSON numbers in some events (app_id) and strings in others; keep strings.
const Id = Schema.Union(Schema.String, Schema.Number).pipe(
  Schema.transform(Schema.String, { strict: true, decode: (v) => String(v), encode: (v) => v })
)

const Party = Schema.Struct({ id: Id })

/** `referral` as documented for m.me links, ads and chat plugins. */
export const Referral = Schema.Struct({
  ref: Schema.optional(Schema.String),
  source: Schema.optional(Schema.String),
  type: Schema.optional(Schema.String),
  ad_id: Schema.optional(Id),
  referer_uri: Schema.optional(Schema.String)
})
/** @see Referral */
export type Referral = typeof Referral.Type

/** One `message.attachments[]` item; `payload.url` is absent for templates and fallbacks. */
export const Attachment = Schema.Struct({
  type: Schema.String,
  title: Schema.optional(Schema.String),
  url: Schema.optional(Schema.String),
  payload: Schema.optional(
    Schema.NullOr(
      Schema.Struct({
        url: Schema.optional(Schema.String),
        title: Schema.optional(Schema.String),
        sticker_id: Schema.optional(Id)
      })
    )
  )
})
/** @see Attachment */
export type Attachment = typeof Attachment.Type

/** `message` of a `messages` or `message_echoes` event. */
export const MessageBody = Schema.Struct({
  mid: Schema.String.pipe(Schema.minLength(1)),
  text: Schema.optional(Schema.String),
  attachments: Schema.optional(Schema.Array(Attachment)),
  quick_reply: Schema.optional(Schema.Struct({ payload: Schema.String })),
  reply_to: Schema.optional(Schema.Struct({ mid: Schema.String })),
  is_echo: Schema.optional(Schema.Boolean),
  app_id: Schema.optional(Id),
  metadata: Schema.optional(Schema.String),
  referral: Schema.optional(Referral)
})
/** @see MessageBody */
export type MessageBody = typeof MessageBody.Type

const Postback = Schema.Struct({
  mid: Schema.optional(Schema.String),
  title: Schema.optional(Schema.String),
  payload: Schema.optional(Schema.String),
  referral: Schema.optional(Referral)
})

const AppId = Schema.optional(Schema.NullOr(Id))

/** One item of `entry[].messaging[]` or `entry[].standby[]`. */
export const MessagingItem = Schema.Struct({
  // app_roles events carry no sender: they concern the page, not a person.
  sender: Schema.optional(Party),
  recipient: Party,
  timestamp: Schema.Number,
  message: Schema.optional(MessageBody),
  postback: Schema.optional(Postback),
  referral: Schema.optional(Referral),
  delivery: Schema.optional(
    Schema.Struct({ mids: Schema.optional(Schema.Array(Schema.String)), watermark: Schema.Number })
  ),
  read: Schema.optional(Schema.Struct({ watermark: Schema.Number })),
  pass_thread_control: Schema.optional(
    Schema.Struct({
      new_owner_app_id: Id,
      previous_owner_app_id: AppId,
      metadata: Schema.optional(Schema.String)
    })
  ),
  take_thread_control: Schema.optional(
    Schema.Struct({
      previous_owner_app_id: AppId,
      new_owner_app_id: AppId,
      metadata: Schema.optional(Schema.String)
    })
  ),
  request_thread_control: Schema.optional(
    Schema.Struct({ requested_owner_app_id: Id, metadata: Schema.optional(Schema.String) })
  ),
  app_roles: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) }))
})
/** @see MessagingItem */
export type MessagingItem = typeof MessagingItem.Type

/** The body of a Messenger webhook POST (`object: "page"`). */
export const WebhookPayload = Schema.Struct({
  object: Schema.Literal("page"),
  entry: Schema.Array(
    Schema.Struct({
      id: Id,
      time: Schema.Number,
      messaging: Schema.optional(Schema.Array(MessagingItem)),
      standby: Schema.optional(Schema.Array(MessagingItem))
    })
  )
})
/** @see WebhookPayload */
export type WebhookPayload = typeof WebhookPayload.Type

/** Where a thread-control change came from. */
export type HandoverKind = "pass_thread_control" | "take_thread_control" | "request_thread_control"

/**
 * One Messenger event, classified. `standby` is true for events delivered through
 * `entry[].standby[]`: another app owns the thread, so we see the message but must not answer.
 */
export type MessengerEvent =
  | {
      readonly _tag: "message"
      readonly pageId: string
      readonly psid: string
      readonly timestamp: number
      readonly standby: boolean
      readonly message: MessageBody
    }
  | {
      readonly _tag: "echo"
      readonly pageId: string
      readonly psid: string
      readonly timestamp: number
      readonly standby: boolean
      readonly message: MessageBody
    }
  | {
      readonly _tag: "postback"
      readonly pageId: string
      readonly psid: string
      readonly timestamp: number
      readonly standby: boolean
      readonly postback: typeof Postback.Type
    }
  | {
      readonly _tag: "referral"
      readonly pageId: string
      readonly psid: string
      readonly timestamp: number
      readonly referral: Referral
    }
  | {
      readonly _tag: "delivery"
      readonly pageId: string
      readonly psid: string
      readonly mids: ReadonlyArray<string>
      readonly watermark: number
    }
  | { readonly _tag: "read"; readonly pageId: string; readonly psid: string; readonly watermark: number }
  | {
      readonly _tag: "handover"
      readonly kind: HandoverKind
      readonly pageId: string
      readonly psid: string
      readonly timestamp: number
      /** The app that owns (pass/take) or asks for (request) the thread; undefined = idle. */
      readonly appId: string | undefined
      readonly previousAppId: string | undefined
      readonly metadata: string | undefined
    }
  | {
      readonly _tag: "app_roles"
      readonly pageId: string
      readonly timestamp: number
      readonly roles: Readonly<Record<string, ReadonlyArray<string>>>
    }
  | { readonly _tag: "unsupported"; readonly pageId: string; readonly keys: ReadonlyArray<string> }

/** The payload did not match Meta's documented shape; nothing of it was processed. */
export class MalformedPayload extends Error {
  readonly _tag = "MalformedPayload"
}

const decode = Schema.decodeUnknownEither(Schema.parseJson(WebhookPayload))

const classify = (pageId: string, item: MessagingItem, standby: boolean): MessengerEvent => {
  if (item.app_roles) return { _tag: "app_roles", pageId, timestamp: item.timestamp, roles: item.app_roles }
  if (!item.sender) return { _tag: "unsupported", pageId, keys: Object.keys(item) }
  // Echoes and standby echoes come from the page: sender is the page, recipient the person.
  const fromPage = item.sender.id === pageId
  const psid = fromPage ? item.recipient.id : item.sender.id
  const base = { pageId, psid, timestamp: item.timestamp }
  if (item.message)
    return item.message.is_echo
      ? { _tag: "echo", ...base, standby, message: item.message }
      : { _tag: "message", ...base, standby, message: item.message }
  if (item.postback) return { _tag: "postback", ...base, standby, postback: item.postback }
  if (item.delivery)
    return {
      _tag: "delivery",
      pageId,
      psid,
      mids: item.delivery.mids ?? [],
      watermark: item.delivery.watermark
    }
  if (item.read) return { _tag: "read", pageId, psid, watermark: item.read.watermark }
  if (item.referral) return { _tag: "referral", ...base, referral: item.referral }
  if (item.pass_thread_control) {
    const c = item.pass_thread_control
    return {
      _tag: "handover",
      kind: "pass_thread_control",
      ...base,
      appId: c.new_owner_app_id,
      previousAppId: c.previous_owner_app_id ?? undefined,
      metadata: c.metadata
    }
  }
  if (item.take_thread_control) {
    const c = item.take_thread_control
    return {
      _tag: "handover",
      kind: "take_thread_control",
      ...base,
      appId: c.new_owner_app_id ?? undefined,
      previousAppId: c.previous_owner_app_id ?? undefined,
      metadata: c.metadata
    }
  }
  if (item.request_thread_control) {
    const c = item.request_thread_control
    return {
      _tag: "handover",
      kind: "request_thread_control",
      ...base,
      appId: c.requested_owner_app_id,
      previousAppId: undefined,
      metadata: c.metadata
    }
  }
  return {
    _tag: "unsupported",
    pageId,
    keys: Object.keys(item).filter((k) => !["sender", "recipient", "timestamp"].includes(k))
  }
}

/**
 * Decodes a webhook body (already verified) into events, in Meta's order. Throws
 * {@link MalformedPayload} with the Schema's explanation when the body is not Meta's shape.
 */
export const parseWebhook = (body: string): ReadonlyArray<MessengerEvent> => {
  const decoded = decode(body)
  if (Either.isLeft(decoded))
    throw new MalformedPayload(
      `[dialogi/messenger] webhook body is not a Messenger page event: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`
    )
  const events: MessengerEvent[] = []
  for (const entry of decoded.right.entry) {
    for (const item of entry.messaging ?? []) events.push(classify(entry.id, item, false))
    for (const item of entry.standby ?? []) events.push(classify(entry.id, item, true))
  }
  return events
}
