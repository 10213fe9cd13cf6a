import type { Effect } from "effect"
import type { StoreError } from "../domain/Errors.js"
import type { ContactId, ConversationId } from "../domain/Ids.js"
import type { CsatReportLine, CsatReportQuery } from "./CsatReport.js"
import type { CsatState, CsatSurvey } from "./CsatSurvey.js"

/** The CSAT operations of a store transaction (`tx.csat`). */
export interface CsatTx {
  readonly insertSurvey: (survey: CsatSurvey) => Effect.Effect<void, StoreError>
  /**
   * For each contact that has one, its newest pending survey requested at or after `since`:
   * at most one per contact.
   */
  readonly pendingSurveys: (
    contactIds: ReadonlyArray<ContactId>,
    since: Date
  ) => Effect.Effect<ReadonlyArray<CsatSurvey>, StoreError>
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
