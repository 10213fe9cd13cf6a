import { Effect } from "effect"
import type { ChannelAdapter, ReplyContext } from "../adapter/ChannelAdapter.js"
import type { Contact } from "../domain/Contact.js"
import type { Conversation } from "../domain/Conversation.js"
import type { ReplyRefusal, StoreError } from "../domain/Errors.js"
import type { MessagePart } from "../domain/Message.js"
import type { StoreTx } from "../store/Store.js"
import type { AdapterRegistry } from "./AdapterRegistry.js"

/** The answer of `canReply`: where a reply would go, or why it cannot go out. */
export type ReplyCheck =
  | { readonly ok: true; readonly channel: string; readonly address: string }
  | { readonly ok: false; readonly refusal: ReplyRefusal }

const refuse = (refusal: ReplyRefusal): ReplyCheck => ({ ok: false, refusal })

const contentRefusal = (
  adapter: ChannelAdapter,
  parts: ReadonlyArray<MessagePart>
): ReplyRefusal | undefined => {
  const { capabilities: caps, channel } = adapter
  for (const part of parts) {
    if (part._tag === "html" && !caps.html) return { _tag: "CapabilityMissing", channel, capability: "html" }
    if ((part._tag === "attachment" || part._tag === "voice") && !caps.attachments)
      return { _tag: "CapabilityMissing", channel, capability: "attachments" }
    if (part._tag === "call") return { _tag: "CapabilityMissing", channel, capability: "call" }
    if (part._tag === "text" && !caps.text) return { _tag: "CapabilityMissing", channel, capability: "text" }
    if (part._tag === "text" && caps.maxTextLength !== undefined && part.text.length > caps.maxTextLength)
      return { _tag: "TooLong", channel, maxLength: caps.maxTextLength, length: part.text.length }
  }
  return undefined
}

/**
 * The adapter's own rule (opt-outs, tags, templates). It may look things up asynchronously; an
 * adapter whose check throws refuses, rather than letting a reply through unchecked.
 */
const adapterRule = (
  adapter: ChannelAdapter,
  context: ReplyContext
): Effect.Effect<ReplyRefusal | undefined> =>
  adapter.checkReply === undefined
    ? Effect.succeed(undefined)
    : Effect.tryPromise(async () => adapter.checkReply!(context)).pipe(
        Effect.catchAll((error) =>
          Effect.succeed<ReplyRefusal>({
            _tag: "CheckFailed",
            channel: adapter.channel,
            detail: `[dialogi] ${adapter.channel} could not check the reply: ${String(error.error)}`
          })
        )
      )

/** Checks one channel: identity, adapter, content, reply window and the adapter's own rules. */
const checkChannel = (
  tx: StoreTx,
  registry: AdapterRegistry,
  conversation: Conversation,
  contact: Contact,
  channel: string,
  parts: ReadonlyArray<MessagePart>,
  now: Date
): Effect.Effect<ReplyCheck, StoreError> =>
  Effect.gen(function* () {
    const adapter = registry.get(channel)
    if (!adapter) return refuse({ _tag: "NoAdapter", channel })
    const identity = contact.identities.find((i) => i.channel === channel)
    if (!identity) return refuse({ _tag: "NoIdentity", channel })
    // Asked without content ("can a reply go out?"), the reply meant is text.
    const content = contentRefusal(adapter, parts.length === 0 ? [{ _tag: "text", text: "" }] : parts)
    if (content) return refuse(content)
    const lastInbound = yield* tx.lastInbound(conversation.id, channel)
    const window = adapter.capabilities.replyWindowSeconds
    if (window !== undefined) {
      if (!lastInbound && !adapter.capabilities.canInitiate)
        return refuse({ _tag: "CapabilityMissing", channel, capability: "canInitiate" })
      if (lastInbound) {
        const closedAt = new Date(lastInbound.sentAt.getTime() + window * 1000)
        if (closedAt <= now) {
          const refusal = yield* adapterRule(adapter, {
            conversation,
            contact,
            address: identity.address,
            lastInbound,
            now
          })
          return refuse(refusal ?? { _tag: "WindowClosed", channel, closedAt, alternatives: [] })
        }
      }
    }
    const refusal = yield* adapterRule(adapter, {
      conversation,
      contact,
      address: identity.address,
      lastInbound,
      now
    })
    if (refusal) return refuse(refusal)
    return { ok: true, channel, address: identity.address }
  })

/**
 * Decides, before anything is queued, whether a reply may go out on `channel` (default: the
 * channel the customer used last). A window refusal lists the channels that would work now.
 */
export const checkReply = (
  tx: StoreTx,
  registry: AdapterRegistry,
  conversation: Conversation,
  contact: Contact,
  channel: string | undefined,
  parts: ReadonlyArray<MessagePart>,
  now: Date
): Effect.Effect<ReplyCheck, StoreError> =>
  Effect.gen(function* () {
    const target = channel ?? conversation.lastInboundChannel
    if (target === undefined)
      return refuse({ _tag: "NoChannel", detail: "the customer has not written yet; name a channel" })
    const check = yield* checkChannel(tx, registry, conversation, contact, target, parts, now)
    if (check.ok || check.refusal._tag !== "WindowClosed") return check
    const alternatives: string[] = []
    for (const identity of contact.identities) {
      if (identity.channel === target || alternatives.includes(identity.channel)) continue
      const other = yield* checkChannel(tx, registry, conversation, contact, identity.channel, parts, now)
      if (other.ok) alternatives.push(identity.channel)
    }
    return refuse({ ...check.refusal, alternatives })
  })
