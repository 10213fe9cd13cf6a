import { Effect } from "effect"
import { aggregateCsatSurveys } from "./CsatReport.js"
import type { CsatTx } from "./CsatStore.js"
import type { CsatSurvey } from "./CsatSurvey.js"

/** What the in-memory CSAT operations need from the memory store around them. */
export interface MemoryCsatDeps {
  /** id -> survey. */
  readonly surveys: Map<string, CsatSurvey>
  /** Sets a map entry so that a rolled-back transaction restores the previous one. */
  readonly setIn: <K, V>(map: Map<K, V>, key: K, value: V) => void
  /** The contact that owns an identity. */
  readonly contactOf: (channel: string, address: string) => string | undefined
}

const newestFirst = (a: CsatSurvey, b: CsatSurvey) =>
  b.requestedAt.getTime() - a.requestedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

/** The CSAT operations on the memory store's table (the reference for the SQL ones). */
export const makeMemoryCsatTx = ({ surveys, setIn, contactOf }: MemoryCsatDeps): CsatTx => ({
  insertSurvey: (survey) => Effect.sync(() => setIn(surveys, survey.id, survey)),
  pendingSurveyOf: (sender, since) =>
    Effect.sync(() => {
      const contactId = contactOf(sender.channel, sender.address)
      if (contactId === undefined) return undefined
      let newest: CsatSurvey | undefined
      for (const s of surveys.values()) {
        if (s.state !== "pending" || s.contactId !== contactId || s.requestedAt < since) continue
        if (newest === undefined || newestFirst(s, newest) < 0) newest = s
      }
      return newest
    }),
  surveysOf: (conversationId) =>
    Effect.sync(() =>
      [...surveys.values()].filter((s) => s.conversationId === conversationId).sort(newestFirst)
    ),
  updateSurvey: (survey, from) =>
    Effect.sync(() => {
      if (surveys.get(survey.id)?.state !== from) return false
      setIn(surveys, survey.id, survey)
      return true
    }),
  report: (query) => Effect.sync(() => aggregateCsatSurveys(surveys.values(), query))
})
