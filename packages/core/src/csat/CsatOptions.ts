import type { Contact } from "../domain/Contact.js"
import type { Conversation } from "../domain/Conversation.js"
import type { CsatScale } from "./CsatSurvey.js"

/** What the survey text template gets. */
export interface CsatQuestionContext {
  readonly conversation: Conversation
  readonly contact: Contact
  /** The customer's last channel: the survey goes out there. */
  readonly channel: string
  readonly scale: CsatScale
  /** The contact's `locale` attribute, else "en". */
  readonly locale: string
}

/** The CSAT part of the hub options: with it, resolving a conversation sends a survey. */
export interface CsatOptions {
  /** "five" (1-5, the default) or "thumbs". */
  readonly scale?: CsatScale | undefined
  /**
   * The survey's text; return undefined to send none this time. The default asks in English
   * for a 1-5 score or a thumbs up / down, with a comment after it.
   */
  readonly question?: ((context: CsatQuestionContext) => string | undefined) | undefined
  /** Which resolved conversations get a survey; default all with an inbound channel. */
  readonly when?: ((conversation: Conversation, contact: Contact) => boolean) | undefined
  /** How long a survey waits for its answer; default 7 days. */
  readonly answerWindowMs?: number | undefined
}

/** The default survey text. */
export const defaultCsatQuestion = (context: CsatQuestionContext): string =>
  context.scale === "five"
    ? "How did we do? Reply with a number from 1 (poor) to 5 (great), and a comment after it if you like."
    : "Did we solve your problem? Reply 👍 or 👎 (or yes / no), and a comment after it if you like."
