import { Effect } from "effect"
import type { CsatReport, CsatReportGroup, CsatReportRow } from "../../csat/CsatReport.js"
import type { InvalidInput, StoreError } from "../../domain/Errors.js"
import type { SlaReportQuery } from "../../sla/SlaClock.js"
import type { SlaReport, SlaReportRow } from "../../sla/SlaReport.js"

/** One group of `hub.reports.service`: its SLA attainment next to its CSAT. */
export interface ServiceReportRow {
  /** The channel, team id or agent id; null for "none". */
  readonly group: string | null
  /** The group's SLA row; null when no clock cycle was decided for it in the period. */
  readonly sla: SlaReportRow | null
  /** The group's CSAT row; null when no survey was requested for it in the period. */
  readonly csat: CsatReportRow | null
}

/** SLA and CSAT for the same period and grouping, groups in ascending order (null last). */
export interface ServiceReport {
  readonly from: Date
  readonly to: Date
  readonly groupBy: CsatReportGroup
  readonly rows: ReadonlyArray<ServiceReportRow>
}

const order = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1

/** Runs both reports (each computed by the store) and lines their rows up by group. */
export const serviceReport = (
  query: { readonly from: Date; readonly to: Date; readonly groupBy: CsatReportGroup },
  csat: (query: unknown) => Effect.Effect<CsatReport, InvalidInput | StoreError>,
  sla: (query: SlaReportQuery) => Effect.Effect<SlaReport, StoreError>
): Effect.Effect<ServiceReport, InvalidInput | StoreError> =>
  Effect.gen(function* () {
    const csatReport = yield* csat(query)
    const slaReport = yield* sla({ from: csatReport.from, to: csatReport.to, groupBy: csatReport.groupBy })
    const groups = new Set<string | null>([
      ...slaReport.rows.map((r) => r.group),
      ...csatReport.rows.map((r) => r.group)
    ])
    return {
      from: csatReport.from,
      to: csatReport.to,
      groupBy: csatReport.groupBy,
      rows: [...groups].sort(order).map((group) => ({
        group,
        sla: slaReport.rows.find((r) => r.group === group) ?? null,
        csat: csatReport.rows.find((r) => r.group === group) ?? null
      }))
    }
  })
