import type { AddressKind } from "../domain/Address.js"
import type { Contact } from "../domain/Contact.js"
import type { Conversation } from "../domain/Conversation.js"
import type { ReplyRefusal } from "../domain/Errors.js"
import type { DeliveryStatus, Message, MessagePart } from "../domain/Message.js"
import type { ChannelCapabilities } from "./Capabilities.js"
import type { InboundEnvelopeInput, StatusUpdateInput } from "./InboundEnvelope.js"
import type { OutboundRecordInput } from "./OutboundRecord.js"

/** A framework-agnostic webhook handler (Web standard Request/Response). */
export type WebhookHandler = (request: Request) => Promise<Response>

/** What the hub answers when an adapter hands it an inbound message. */
export interface IngestReceipt {
  readonly messageId: string
  readonly conversationId: string
  readonly contactId: string
  /** True when this provider message was already stored (a provider retry). */
  readonly duplicate: boolean
}

/**
 * What the hub gives an adapter when it starts. Promise-based so that adapters need no
 * Effect knowledge; `ingest` resolves only after the message is committed, so an adapter may
 * answer the provider with 2xx exactly then.
 */
export interface AdapterContext {
  readonly ingest: (envelope: InboundEnvelopeInput) => Promise<IngestReceipt>
  readonly updateStatus: (update: StatusUpdateInput) => Promise<void>
  /**
   * Stores a message the business sent outside dialogi (a provider inbox, another app) in the
   * contact's open conversation, as sent; a provider id already stored is a duplicate, not an
   * error. Rejects with NotFound when no open conversation of a contact has that address.
   * Optional so that contexts built by hand (tests, hosts driving an adapter) stay valid; the
   * hub always provides it.
   */
  readonly recordOutbound?: (record: OutboundRecordInput) => Promise<OutboundRecordReceipt>
  readonly log: (level: "debug" | "info" | "warn" | "error", message: string, data?: unknown) => void
}

/** What the hub answers when an adapter records a message sent outside dialogi. */
export interface OutboundRecordReceipt {
  readonly messageId: string
  readonly conversationId: string
  /** True when this provider message was already stored (a retry, or one of our own sends). */
  readonly duplicate: boolean
}

/** One outbound message for an adapter to deliver. */
export interface SendRequest {
  readonly messageId: string
  readonly conversationId: string
  /** The normalized address of the contact on this channel. */
  readonly to: string
  readonly parts: ReadonlyArray<MessagePart>
  /** Stable across retries of the same message: pass it as the provider's idempotency key. */
  readonly idempotencyKey: string
  readonly attempt: number
  readonly metadata: Readonly<Record<string, unknown>>
}

/** A successful send: the provider's id, used to match later status callbacks. */
export interface SendReceipt {
  readonly providerMessageId: string
  readonly status?: DeliveryStatus["_tag"]
}

/** What an adapter sees when asked whether a reply may go out (its channel rules). */
export interface ReplyContext {
  readonly conversation: Conversation
  readonly contact: Contact
  readonly address: string
  /** The latest inbound message from the contact on this channel, if any. */
  readonly lastInbound: Message | undefined
  readonly now: Date
}

/**
 * A channel plugged into the hub. Adapters are plain objects, so a plugin built against any
 * compatible version of core fits: the hub only relies on this shape.
 */
export interface ChannelAdapter {
  /** The channel name this adapter serves, e.g. `email`. */
  readonly channel: string
  readonly capabilities: ChannelCapabilities
  /** How addresses on this channel are normalized for matching; default `opaque`. */
  readonly addressKind?: AddressKind
  /** Called once when the hub starts; inbound adapters keep `context` to ingest. */
  readonly start?: (context: AdapterContext) => Promise<void>
  readonly stop?: () => Promise<void>
  /** Delivers one message; throws a `SendFailed`-shaped error that says retryable or not. */
  readonly send: (request: SendRequest) => Promise<SendReceipt>
  /** Verifies and ingests a provider webhook; present on webhook-driven channels. */
  readonly handleWebhook?: WebhookHandler
  /** Channel rules beyond capabilities (opt-outs, tags, templates); undefined = allowed. */
  readonly checkReply?: (
    context: ReplyContext
  ) => ReplyRefusal | undefined | Promise<ReplyRefusal | undefined>
}
