import type { SlaOutcome, SlaReportLine, SlaReportQuery } from "./SlaClock.js"
import type { SlaTarget } from "./SlaPolicy.js"

/** Percentiles of one target's business time within a group. */
export interface SlaTargetStats {
  readonly cycles: number
  readonly breaches: number
  /** Share of cycles met, in percent (0-100); null without cycles. */
  readonly attainmentPct: number | null
  readonly p50Ms: number | null
  readonly p90Ms: number | null
}

/** One group of `hub.reports.sla`. */
export interface SlaReportRow {
  /** A policy id, channel, team id or agent id; null for "none" (unassigned, say). */
  readonly group: string | null
  /** Over every target: cycles decided in the period, how many breached, percent met. */
  readonly cycles: number
  readonly breaches: number
  readonly attainmentPct: number | null
  readonly firstResponse: SlaTargetStats
  readonly nextResponse: SlaTargetStats
  readonly resolution: SlaTargetStats
}

/** The report: one row per group, groups in ascending order (null last). */
export interface SlaReport {
  readonly from: Date
  readonly to: Date
  readonly groupBy: SlaReportQuery["groupBy"]
  readonly rows: ReadonlyArray<SlaReportRow>
}

const pct = (met: number, cycles: number) => (cycles === 0 ? null : (100 * met) / cycles)

const stats = (line: SlaReportLine | undefined): SlaTargetStats => ({
  cycles: line?.cycles ?? 0,
  breaches: line?.breaches ?? 0,
  attainmentPct: line === undefined ? null : pct(line.cycles - line.breaches, line.cycles),
  p50Ms: line?.p50Ms ?? null,
  p90Ms: line?.p90Ms ?? null
})

/** Folds the store's (group, target) lines into one row per group. */
export const slaReportRows = (lines: ReadonlyArray<SlaReportLine>): ReadonlyArray<SlaReportRow> => {
  const groups = new Map<string | null, Map<SlaTarget, SlaReportLine>>()
  for (const line of lines) {
    let targets = groups.get(line.group)
    if (targets === undefined) {
      targets = new Map()
      groups.set(line.group, targets)
    }
    targets.set(line.target, line)
  }
  const keys = [...groups.keys()].sort((a, b) =>
    a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0
  )
  return keys.map((group) => {
    const targets = groups.get(group)!
    let cycles = 0
    let breaches = 0
    for (const line of targets.values()) {
      cycles += line.cycles
      breaches += line.breaches
    }
    return {
      group,
      cycles,
      breaches,
      attainmentPct: pct(cycles - breaches, cycles),
      firstResponse: stats(targets.get("first_response")),
      nextResponse: stats(targets.get("next_response")),
      resolution: stats(targets.get("resolution"))
    }
  })
}

/** PostgreSQL's `percentile_cont`: linear interpolation between the closest ranks. */
export const percentileCont = (sorted: ReadonlyArray<number>, fraction: number): number | null => {
  if (sorted.length === 0) return null
  const position = fraction * (sorted.length - 1)
  const lower = Math.floor(position)
  const upper = Math.ceil(position)
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower)
}

const groupOf = (outcome: SlaOutcome, groupBy: SlaReportQuery["groupBy"]): string | null => {
  switch (groupBy) {
    case "policy":
      return outcome.policyId
    case "channel":
      return outcome.channel ?? null
    case "team":
      return outcome.team ?? null
    case "agent":
      return outcome.agent ?? null
  }
}

/**
 * The store-side aggregation, in memory: what the SQL stores compute with GROUP BY and
 * `percentile_cont`, for stores without SQL.
 */
export const aggregateSlaOutcomes = (
  outcomes: Iterable<SlaOutcome>,
  query: SlaReportQuery
): ReadonlyArray<SlaReportLine> => {
  const from = query.from.getTime()
  const to = query.to.getTime()
  const buckets = new Map<string, { group: string | null; target: SlaTarget; rows: SlaOutcome[] }>()
  for (const outcome of outcomes) {
    const at = outcome.at.getTime()
    if (at < from || at >= to) continue
    const group = groupOf(outcome, query.groupBy)
    const key = `${group === null ? "\u0000" : `=${group}`}\u0001${outcome.target}`
    let bucket = buckets.get(key)
    if (bucket === undefined) {
      bucket = { group, target: outcome.target, rows: [] }
      buckets.set(key, bucket)
    }
    bucket.rows.push(outcome)
  }
  return [...buckets.values()].map(({ group, target, rows }) => {
    const times = rows
      .map((r) => r.businessMs)
      .filter((ms): ms is number => ms !== undefined)
      .sort((a, b) => a - b)
    return {
      group,
      target,
      cycles: rows.length,
      breaches: rows.filter((r) => r.breached).length,
      p50Ms: percentileCont(times, 0.5),
      p90Ms: percentileCont(times, 0.9)
    }
  })
}
