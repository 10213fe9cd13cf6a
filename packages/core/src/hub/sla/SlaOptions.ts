import type { Contact } from "../../domain/Contact.js"
import type { Conversation } from "../../domain/Conversation.js"
import type { SlaPolicy, SlaPolicyInput, SlaPredicates, SlaTarget } from "../../sla/SlaPolicy.js"
import type { DeadlineRunOptions } from "../../store/Store.js"

/** What the host's acknowledgement template gets to write the customer a short "we'll reply by". */
export interface AcknowledgementContext {
  /** When the customer can expect a reply (the response clock's due time). */
  readonly dueAt: Date
  /** `dueAt` formatted for the customer: their locale, their time zone, date and time. */
  readonly dueText: string
  /** The contact's `locale` attribute, else `sla.defaultLocale`, else "en". */
  readonly locale: string
  /** The contact's `timeZone` attribute, else the policy calendar's zone. */
  readonly timeZone: string
  /** The channel the customer wrote on; the acknowledgement goes out there. */
  readonly channel: string
  readonly target: SlaTarget
  readonly policy: SlaPolicy
  readonly conversation: Conversation
  readonly contact: Contact
}

/** The SLA part of the hub options. */
export interface SlaOptions {
  /** Tried in order; the first matching policy starts a conversation's clocks. Validated at start. */
  readonly policies: ReadonlyArray<SlaPolicy | SlaPolicyInput>
  /** Host functions that `match.predicate` of a policy can name. */
  readonly predicates?: SlaPredicates | undefined
  /**
   * The text of the auto-acknowledgement for policies with `autoAcknowledge`; return undefined
   * to send nothing this time. Sent by the system author through the normal durable send path.
   */
  readonly acknowledgement?: ((context: AcknowledgementContext) => string | undefined) | undefined
  /** Locale of acknowledgements to contacts without a `locale` attribute; default "en". */
  readonly defaultLocale?: string | undefined
  /** How this instance claims SLA deadlines (batch size, parallel claim loops, retry delays). */
  readonly deadlines?: DeadlineRunOptions | undefined
}
