import { Schema } from "effect"
import type { Contact } from "../domain/Contact.js"
import { type Conversation, Priority } from "../domain/Conversation.js"
import { ChannelName } from "../domain/Ids.js"
import { BusinessCalendar } from "./BusinessCalendar.js"

/** The three promises an SLA policy can make. */
export const SlaTarget = Schema.Literal("first_response", "next_response", "resolution")
/** @see SlaTarget */
export type SlaTarget = typeof SlaTarget.Type

/** Statuses that may pause a policy's clocks. */
export const SlaPauseStatus = Schema.Literal("waiting_on_customer", "snoozed")
/** @see SlaPauseStatus */
export type SlaPauseStatus = typeof SlaPauseStatus.Type

/** A span of open business time, in milliseconds (4 business hours = 14_400_000). */
export const BusinessMillis = Schema.Number.pipe(
  Schema.finite(),
  Schema.positive(),
  Schema.annotations({ identifier: "BusinessMillis" })
)

/** What a policy promises, in business milliseconds; a target left out has no clock. */
export const SlaTargets = Schema.Struct({
  /** From the first customer message to the first public agent or bot reply. */
  firstResponse: Schema.optional(BusinessMillis),
  /** From a customer message after a reply to the next public agent or bot reply. */
  nextResponse: Schema.optional(BusinessMillis),
  /** From the first customer message (or a reopen) until the conversation is resolved. */
  resolution: Schema.optional(BusinessMillis)
})
/** @see SlaTargets */
export type SlaTargets = typeof SlaTargets.Type

/**
 * When a policy applies; every condition given must hold, an empty match applies to every
 * conversation. Matching happens when a clock starts, so a conversation whose tags change
 * later keeps its running clocks.
 */
export const SlaMatch = Schema.Struct({
  /** The channel of the customer message that starts the clock. */
  channels: Schema.optional(Schema.Array(ChannelName)),
  priorities: Schema.optional(Schema.Array(Priority)),
  /** The conversation carries all of these tags. */
  tags: Schema.optional(Schema.Array(Schema.String)),
  /** Each contact attribute equals the given value (e.g. `{ plan: "enterprise" }`). */
  contactAttributes: Schema.optional(
    Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean) })
  ),
  /**
   * The name of a host function in `sla.predicates` that must return true. Policies stay data
   * (storable, comparable, recorded in the event log); the code they refer to stays in the host.
   */
  predicate: Schema.optional(Schema.String.pipe(Schema.minLength(1)))
})
/** @see SlaMatch */
export type SlaMatch = typeof SlaMatch.Type

/**
 * A service-level policy: which conversations it covers, what it promises, in whose business
 * hours, and when the team is warned. Policies are tried in order and the first match wins.
 */
export class SlaPolicy extends Schema.Class<SlaPolicy>("@dialogi/SlaPolicy")({
  id: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/)),
  name: Schema.optional(Schema.String),
  match: Schema.optionalWith(SlaMatch, { default: () => ({}) }),
  targets: SlaTargets,
  /** The share of a target after which `sla.warning` fires, e.g. 0.8 = with 20% left. */
  warnAt: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1)), {
    default: () => 0.8
  }),
  calendar: Schema.optionalWith(BusinessCalendar, { default: () => BusinessCalendar.alwaysOpen }),
  /** Statuses during which the clocks stop counting; default both. */
  pauseOn: Schema.optionalWith(Schema.Array(SlaPauseStatus), {
    default: () => ["waiting_on_customer", "snoozed"] as const
  }),
  /**
   * Tell the customer, on the channel they used, when they will hear back (text from the host's
   * `sla.acknowledgement` template); once per burst of customer messages, never to automated senders.
   */
  autoAcknowledge: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}

/** A policy as the host writes it (plain JSON; defaults may be left out). */
export type SlaPolicyInput = typeof SlaPolicy.Encoded

/** What a policy is matched against. */
export interface SlaMatchContext {
  readonly conversation: Conversation
  /** Absent when no policy looks at the contact (the hub then skips loading it). */
  readonly contact?: Contact | undefined
  /** The channel of the customer message that starts the clock. */
  readonly channel: string
}

/** Host functions a policy's `match.predicate` may name. */
export type SlaPredicates = Readonly<Record<string, (context: SlaMatchContext) => boolean>>

/** True when `policy` applies in `context`. */
export const policyMatches = (
  policy: SlaPolicy,
  context: SlaMatchContext,
  predicates: SlaPredicates = {}
): boolean => {
  const { match } = policy
  const { conversation } = context
  if (match.channels !== undefined && !match.channels.includes(context.channel as ChannelName)) return false
  if (match.priorities !== undefined && !match.priorities.includes(conversation.priority)) return false
  if (match.tags !== undefined && !match.tags.every((tag) => conversation.tags.includes(tag))) return false
  if (match.contactAttributes !== undefined) {
    const attributes = context.contact?.attributes ?? {}
    for (const [key, value] of Object.entries(match.contactAttributes))
      if (attributes[key] !== value) return false
  }
  if (match.predicate !== undefined) {
    const predicate = predicates[match.predicate]
    if (predicate === undefined || !predicate(context)) return false
  }
  return true
}

/** The first policy that applies, if any. */
export const firstMatchingPolicy = (
  policies: ReadonlyArray<SlaPolicy>,
  context: SlaMatchContext,
  predicates: SlaPredicates = {}
): SlaPolicy | undefined => policies.find((policy) => policyMatches(policy, context, predicates))

/** Whether any policy needs the contact to be matched (so the hub loads it only then). */
export const policiesNeedContact = (policies: ReadonlyArray<SlaPolicy>): boolean =>
  policies.some((p) => p.match.contactAttributes !== undefined || p.match.predicate !== undefined)

const encodePolicy = Schema.encodeSync(SlaPolicy)

// JSON with object keys sorted, so the same policy always has the same text.
const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (value !== null && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`
  return JSON.stringify(value)
}

/** The policy as stored and recorded: its encoded form. */
export const encodeSlaPolicy = (policy: SlaPolicy): SlaPolicyInput => encodePolicy(policy)

/**
 * A policy's version: a hash of its canonical encoded form. A running clock remembers the
 * version it started under, so changing a policy affects new clocks only.
 */
export const policyVersion = (policy: SlaPolicy): string => {
  let version = versions.get(policy)
  if (version === undefined) {
    version = hashVersion(policy)
    versions.set(policy, version)
  }
  return version
}

// Policies are immutable values: a version computed once per policy object (every clock start
// asks for it) stays right.
const versions = new WeakMap<SlaPolicy, string>()

const hashVersion = (policy: SlaPolicy): string => {
  const text = canonical(encodePolicy(policy))
  // Two FNV-1a 32-bit hashes with different offsets: 64 bits, enough to tell versions apart.
  let a = 0x811c9dc5
  let b = 0x01000193 ^ 0x9e3779b9
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193) >>> 0
    b = Math.imul(b ^ c, 0x01000193 + 2) >>> 0
  }
  return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0")
}
