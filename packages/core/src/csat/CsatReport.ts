import { Schema } from "effect"
import type { CsatSurvey } from "./CsatSurvey.js"

/** How CSAT reports group surveys: by the channel asked on, the team or the agent at resolution. */
export const CsatReportGroup = Schema.Literal("channel", "team", "agent")
/** @see CsatReportGroup */
export type CsatReportGroup = typeof CsatReportGroup.Type

/** A report period and grouping; surveys count in the period they were requested in. */
export const CsatReportQuery = Schema.Struct({
  from: Schema.Union(Schema.DateFromSelf, Schema.DateFromNumber, Schema.Date),
  to: Schema.Union(Schema.DateFromSelf, Schema.DateFromNumber, Schema.Date),
  groupBy: CsatReportGroup
}).pipe(Schema.filter((q) => q.from.getTime() <= q.to.getTime() || "from must not be after to"))
/** @see CsatReportQuery */
export type CsatReportQuery = typeof CsatReportQuery.Type

/** One group as the store computes it. */
export interface CsatReportLine {
  /** The channel, team id or agent id; null when there is none (unassigned, say). */
  readonly group: string | null
  readonly requested: number
  readonly answered: number
  /** Answers that were a 4 or 5, or a thumbs up. */
  readonly satisfied: number
  /** Answers on the five scale and their mean (null without any). */
  readonly fiveAnswers: number
  readonly averageFive: number | null
}

/** One group of `hub.reports.csat`. */
export interface CsatReportRow extends CsatReportLine {
  /** Share of surveys answered, in percent; null without surveys. */
  readonly responseRatePct: number | null
  /** CSAT: share of answers that were satisfied, in percent; null without answers. */
  readonly csatPct: number | null
}

/** The CSAT report: one row per group, groups in ascending order (null last). */
export interface CsatReport {
  readonly from: Date
  readonly to: Date
  readonly groupBy: CsatReportGroup
  readonly rows: ReadonlyArray<CsatReportRow>
}

const pct = (part: number, whole: number) => (whole === 0 ? null : (100 * part) / whole)

/** Adds the percentages and sorts the store's lines into report rows. */
export const csatReportRows = (lines: ReadonlyArray<CsatReportLine>): ReadonlyArray<CsatReportRow> =>
  [...lines]
    .sort((a, b) =>
      a.group === b.group ? 0 : a.group === null ? 1 : b.group === null ? -1 : a.group < b.group ? -1 : 1
    )
    .map((line) => ({
      ...line,
      responseRatePct: pct(line.answered, line.requested),
      csatPct: pct(line.satisfied, line.answered)
    }))

const groupOf = (survey: CsatSurvey, groupBy: CsatReportGroup): string | null => {
  switch (groupBy) {
    case "channel":
      return survey.channel
    case "team":
      return survey.team ?? null
    case "agent":
      return survey.agent ?? null
  }
}

/**
 * The store-side aggregation, in memory: what the SQL stores compute with GROUP BY, for stores
 * without SQL.
 */
export const aggregateCsatSurveys = (
  surveys: Iterable<CsatSurvey>,
  query: CsatReportQuery
): ReadonlyArray<CsatReportLine> => {
  const from = query.from.getTime()
  const to = query.to.getTime()
  const groups = new Map<
    string | null,
    { requested: number; answered: number; satisfied: number; fiveAnswers: number; fiveSum: number }
  >()
  for (const survey of surveys) {
    const at = survey.requestedAt.getTime()
    if (at < from || at >= to) continue
    const group = groupOf(survey, query.groupBy)
    let g = groups.get(group)
    if (g === undefined) {
      g = { requested: 0, answered: 0, satisfied: 0, fiveAnswers: 0, fiveSum: 0 }
      groups.set(group, g)
    }
    g.requested++
    if (survey.state !== "answered" || survey.rating === undefined) continue
    g.answered++
    if (survey.satisfied === true) g.satisfied++
    if (survey.scale === "five") {
      g.fiveAnswers++
      g.fiveSum += survey.rating
    }
  }
  return [...groups].map(([group, g]) => ({
    group,
    requested: g.requested,
    answered: g.answered,
    satisfied: g.satisfied,
    fiveAnswers: g.fiveAnswers,
    averageFive: g.fiveAnswers === 0 ? null : g.fiveSum / g.fiveAnswers
  }))
}
