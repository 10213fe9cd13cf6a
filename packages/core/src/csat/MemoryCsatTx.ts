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
}

const newestFirst = (a: CsatSurvey, b: CsatSurvey) =>
  b.requestedAt.getTime() - a.requestedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

/** The CSAT operations on the memory store's table (the reference for the SQL ones). */
export const makeMemoryCsatTx = ({ surveys, setIn }: MemoryCsatDeps): CsatTx => ({
  insertSurvey: (survey) => Effect.sync(() => setIn(surveys, survey.id, survey)),
  pendingSurveys: (contactIds, since) =>
    Effect.sync(() => {
      const wanted = new Set<string>(contactIds)
      const newest = new Map<string, CsatSurvey>()
      for (const s of surveys.values()) {
        if (s.state !== "pending" || !wanted.has(s.contactId) || s.requestedAt < since) continue
        const before = newest.get(s.contactId)
        if (before === undefined || newestFirst(s, before) < 0) newest.set(s.contactId, s)
      }
      return [...newest.values()]
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
