import type { Effect } from "effect"
import type { StoreError } from "../domain/Errors.js"
import type { ConversationId } from "../domain/Ids.js"
import type { CsatReportLine, CsatReportQuery } from "./CsatReport.js"
import type { CsatState, CsatSurvey } from "./CsatSurvey.js"

/** The CSAT operations of a store transaction (`tx.csat`). */
export interface CsatTx {
  readonly insertSurvey: (survey: CsatSurvey) => Effect.Effect<void, StoreError>
  /**
   * The newest pending survey, requested at or after `since`, of the contact that owns the
   * identity `sender`; undefined when the identity is unknown or its contact has none. One round
   * trip on SQL stores: every inbound message asks this while CSAT is on.
   */
  readonly pendingSurveyOf: (
    sender: { readonly channel: string; readonly address: string },
    since: Date
  ) => Effect.Effect<CsatSurvey | undefined, StoreError>
  /** The surveys of a conversation, newest first. */
  readonly surveysOf: (conversationId: ConversationId) => Effect.Effect<ReadonlyArray<CsatSurvey>, StoreError>
  /**
   * Writes a survey's new state only if it is still in state `from` (compare and set), so that
   * two answers racing on two instances record one; true when written.
   */
  readonly updateSurvey: (survey: CsatSurvey, from: CsatState) => Effect.Effect<boolean, StoreError>
  /** Surveys requested in `[from, to)`, aggregated per group by the store (in SQL on SQL stores). */
  readonly report: (query: CsatReportQuery) => Effect.Effect<ReadonlyArray<CsatReportLine>, StoreError>
}
