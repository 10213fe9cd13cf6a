import { Effect } from "effect"
import type { Contact } from "../../domain/Contact.js"
import type { Conversation } from "../../domain/Conversation.js"
import type { ReplyRefusal, StoreError } from "../../domain/Errors.js"
import type { MessagePart } from "../../domain/Message.js"
import type { StoreTx } from "../../store/Store.js"
import type { AdapterRegistry } from "../AdapterRegistry.js"
import { checkReply } from "../replyRules.js"

/** Where a missed callback's offer of a new window goes, or every channel's refusal. */
export type OfferChannel =
  | { readonly ok: true; readonly channel: string }
  | { readonly ok: false; readonly refusals: ReadonlyArray<ReplyRefusal> }

/**
 * Picks the channel for a written offer to the customer of a missed callback: their last
 * channel when it can carry the text, else a channel of theirs at the callback's phone number
 * (SMS, when they left a voicemail), else the next one in the order of their identities, as
 * `canReply` lists alternatives. Every channel goes through `checkReply`, so text support,
 * windows, opt-outs and lengths hold as for any reply.
 */
export const chooseOfferChannel = (
  tx: StoreTx,
  registry: AdapterRegistry,
  conversation: Conversation,
  contact: Contact,
  phone: string,
  parts: ReadonlyArray<MessagePart>,
  now: Date
): Effect.Effect<OfferChannel, StoreError> =>
  Effect.gen(function* () {
    const refusals: ReplyRefusal[] = []
    const tried = new Set<string>()
    const last = conversation.lastInboundChannel
    const candidates = [
      last,
      ...contact.identities.filter((i) => i.address === phone).map((i) => i.channel),
      ...contact.identities.map((i) => i.channel)
    ]
    for (const channel of candidates) {
      // No last channel: checkReply(undefined) says so (NoChannel), and the others are tried.
      if (channel !== undefined && tried.has(channel)) continue
      if (channel !== undefined) tried.add(channel)
      const check = yield* checkReply(tx, registry, conversation, contact, channel, parts, now)
      if (check.ok) return { ok: true, channel: check.channel }
      refusals.push(check.refusal)
    }
    return { ok: false, refusals }
  })

/** One line per refusal, for an event or a log: `voice: CapabilityMissing text; sms: OptedOut`. */
export const describeRefusals = (refusals: ReadonlyArray<ReplyRefusal>): string =>
  refusals
    .map((r) => {
      const where = "channel" in r ? `${r.channel}: ` : ""
      const detail = "capability" in r ? ` ${r.capability}` : "detail" in r ? ` (${r.detail})` : ""
      return `${where}${r._tag}${detail}`
    })
    .join("; ")
