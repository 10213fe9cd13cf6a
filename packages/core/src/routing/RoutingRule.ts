import { Schema } from "effect"
import { Priority } from "../domain/Conversation.js"
import { RoutingId } from "./Participant.js"

/**
 * Which conversations a rule takes. Every given condition must hold; inside one condition any
 * listed value is enough (`channels: ["sms", "voice"]` means sms or voice).
 */
export const RuleMatch = Schema.Struct({
  /** The channel the customer wrote on last. */
  channels: Schema.optional(Schema.Array(Schema.String)),
  /** At least one of these tags. */
  tags: Schema.optional(Schema.Array(Schema.String)),
  priorities: Schema.optional(Schema.Array(Priority)),
  /** The contact's `language` attribute (`"fi"`, `"en-GB"`); `"en"` also matches `"en-GB"`. */
  languages: Schema.optional(Schema.Array(Schema.String)),
  /** Contact attributes that must equal these values, e.g. `{ plan: "enterprise" }`. */
  attributes: Schema.optional(
    Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean) })
  )
})
/** @see RuleMatch */
export type RuleMatch = typeof RuleMatch.Type

/** Sends matching conversations to a team; the first matching rule wins. */
export const RoutingRule = Schema.Struct({
  /** A name for logs and events. */
  name: Schema.optional(Schema.String),
  match: RuleMatch,
  team: RoutingId,
  /** Skills an agent must have (used by the `skills` strategy). */
  skills: Schema.optional(Schema.Array(Schema.String))
})
/** @see RoutingRule */
export type RoutingRule = typeof RoutingRule.Type

/** The facts a rule looks at. */
export interface RoutingFacts {
  readonly channel: string | undefined
  readonly tags: ReadonlyArray<string>
  readonly priority: Priority
  readonly attributes: Readonly<Record<string, unknown>>
}

const languageMatches = (wanted: string, actual: unknown): boolean => {
  if (typeof actual !== "string") return false
  const a = actual.toLowerCase()
  const w = wanted.toLowerCase()
  return a === w || a.startsWith(`${w}-`)
}

/** Whether one rule's conditions hold for a conversation. */
export const ruleMatches = (match: RuleMatch, facts: RoutingFacts): boolean => {
  if (match.channels && (facts.channel === undefined || !match.channels.includes(facts.channel))) return false
  if (match.tags && !match.tags.some((t) => facts.tags.includes(t))) return false
  if (match.priorities && !match.priorities.includes(facts.priority)) return false
  if (match.languages && !match.languages.some((l) => languageMatches(l, facts.attributes.language)))
    return false
  if (match.attributes)
    for (const [key, value] of Object.entries(match.attributes))
      if (facts.attributes[key] !== value) return false
  return true
}

/** The first rule that matches, if any. */
export const chooseRule = (rules: ReadonlyArray<RoutingRule>, facts: RoutingFacts): RoutingRule | undefined =>
  rules.find((rule) => ruleMatches(rule.match, facts))
