/**
 * UTC offsets of an IANA zone, read from `Intl.DateTimeFormat` so the package needs no tz
 * database of its own. Internal to the SLA modules: not re-exported from the package index.
 */

const DAY_MS = 86_400_000
const SECOND_MS = 1_000

/** Instants where the offset is constant: `[start, end)`, wall-clock = instant + `offset`. */
export interface OffsetSegment {
  readonly start: number
  readonly end: number
  readonly offset: number
}

// One UTC year of a zone: boundaries[i]..boundaries[i+1] has offsets[i]; the first and last
// boundaries are the year's edges, the ones between are transitions.
interface YearTable {
  readonly boundaries: ReadonlyArray<number>
  readonly offsets: ReadonlyArray<number>
}

const formatters = new Map<string, Intl.DateTimeFormat>()
const years = new Map<string, Map<number, YearTable>>()

const formatterFor = (timeZone: string): Intl.DateTimeFormat => {
  let formatter = formatters.get(timeZone)
  if (formatter === undefined) {
    // `format` is about three times faster than `formatToParts`; en-US with h23 gives the fixed
    // shape "M/D/YYYY, HH:MM:SS".
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric"
    })
    formatters.set(timeZone, formatter)
  }
  return formatter
}

const WALL = /^(\d+)\/(\d+)\/(\d+),\s(\d+):(\d+):(\d+)$/

/** True when `Intl` knows the zone (IANA names, and the fixed offsets ES2024 allows). */
export const isKnownTimeZone = (timeZone: string): boolean => {
  try {
    formatterFor(timeZone)
    return true
  } catch {
    return false
  }
}

/** The offset in milliseconds at `instant`, straight from `Intl` (no caching). */
export const probeOffset = (timeZone: string, instant: number): number => {
  const match = WALL.exec(formatterFor(timeZone).format(instant))
  if (match === null) throw new Error(`[dialogi/sla] unexpected Intl output for ${timeZone}`)
  const wall = Date.UTC(+match[3]!, +match[1]! - 1, +match[2]!, +match[4]!, +match[5]!, +match[6]!)
  return wall - Math.floor(instant / SECOND_MS) * SECOND_MS
}

const yearStart = (year: number): number => Date.UTC(year, 0, 1)

// Probing once a day misses two transitions that cancel out within one day; tzdb has none in
// the years an SLA deals with, and a daily probe keeps a zone-year at ~370 Intl calls, once.
const buildYear = (timeZone: string, year: number): YearTable => {
  const start = yearStart(year)
  const end = yearStart(year + 1)
  const boundaries = [start]
  const offsets = [probeOffset(timeZone, start)]
  let previous = start
  let previousOffset = offsets[0]!
  for (let probe = start + DAY_MS; previous < end; probe += DAY_MS) {
    const at = Math.min(probe, end)
    const offset = at === end ? probeOffset(timeZone, end - SECOND_MS) : probeOffset(timeZone, at)
    if (offset !== previousOffset) {
      // Offsets change on whole seconds (Intl reports no finer), so search seconds.
      let lo = previous / SECOND_MS
      let hi = (at === end ? end - SECOND_MS : at) / SECOND_MS
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2)
        if (probeOffset(timeZone, mid * SECOND_MS) === previousOffset) lo = mid
        else hi = mid
      }
      boundaries.push(hi * SECOND_MS)
      offsets.push(offset)
      previousOffset = offset
    }
    previous = at
  }
  boundaries.push(end)
  return { boundaries, offsets }
}

const tableFor = (timeZone: string, year: number): YearTable => {
  let zone = years.get(timeZone)
  if (zone === undefined) {
    zone = new Map()
    years.set(timeZone, zone)
  }
  let table = zone.get(year)
  if (table === undefined) {
    table = buildYear(timeZone, year)
    zone.set(year, table)
  }
  return table
}

/** The constant-offset segment containing `instant` (cut at UTC year edges as well). */
export const segmentAt = (timeZone: string, instant: number): OffsetSegment => {
  const { boundaries, offsets } = tableFor(timeZone, new Date(instant).getUTCFullYear())
  let i = 0
  while (boundaries[i + 1]! <= instant) i++
  return { start: boundaries[i]!, end: boundaries[i + 1]!, offset: offsets[i]! }
}

/** The offset in milliseconds at `instant` (wall-clock = instant + offset). */
export const offsetAt = (timeZone: string, instant: number): number => segmentAt(timeZone, instant).offset

/**
 * The instant a wall-clock reading (given as milliseconds of a UTC calendar) first occurs in
 * the zone; a reading skipped by a spring-forward gap resolves to the first instant after it.
 */
export const instantOfWall = (timeZone: string, wall: number): number => {
  // Candidates: the reading under the offsets in force a day either side of it.
  const before = offsetAt(timeZone, wall - DAY_MS)
  const after = offsetAt(timeZone, wall + DAY_MS)
  const candidates = [wall - before, wall - after].sort((a, b) => a - b)
  for (const candidate of candidates) {
    if (candidate + offsetAt(timeZone, candidate) === wall) return candidate
  }
  // In the gap: the transition instant, which is the first reading after it.
  return segmentAt(timeZone, wall - Math.max(before, after)).end
}
