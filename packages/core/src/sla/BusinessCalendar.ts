import { Either, Schema } from "effect"
import { isKnownTimeZone, offsetAt, segmentAt } from "./ZoneOffsets.js"

const MINUTE_MS = 60_000
const DAY_MS = 86_400_000

/**
 * How long a search for the next opening may run through closed time before the calendar
 * counts as never opening. Longer than a year, so a calendar open one day a year still works.
 */
export const NEVER_OPENS_AFTER_DAYS = 400

const INTERVAL = /^([01]\d|2[0-3]):([0-5]\d)-(?:([01]\d|2[0-3]):([0-5]\d)|(24):00)$/

// [startMinute, endMinute) of the day, or undefined when the text is not an interval.
const parseInterval = (text: string): readonly [number, number] | undefined => {
  const m = INTERVAL.exec(text)
  if (m === null) return undefined
  return [+m[1]! * 60 + +m[2]!, m[5] === "24" ? 1440 : +m[3]! * 60 + +m[4]!]
}

/**
 * One opening on one day, wall-clock in the calendar's zone: `"08:00-12:00"`. The end is
 * exclusive and may be `"24:00"` (open until midnight).
 */
export const OpeningInterval = Schema.String.pipe(
  Schema.filter((text) => {
    const parsed = parseInterval(text)
    if (parsed === undefined) return `"${text}" is not an opening interval like "08:00-17:00"`
    return parsed[0] < parsed[1] || `"${text}" closes before it opens`
  }),
  Schema.annotations({ identifier: "OpeningInterval" })
)
/** @see OpeningInterval */
export type OpeningInterval = typeof OpeningInterval.Type

/** The openings of one day, e.g. `["08:00-12:00", "13:00-17:00"]`; empty means closed. */
export const DayHours = Schema.Array(OpeningInterval).pipe(
  Schema.filter((intervals) => {
    const sorted = intervals.map((text) => ({ text, range: parseInterval(text)! }))
    sorted.sort((a, b) => a.range[0] - b.range[0])
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.range[0] < sorted[i - 1]!.range[1]) {
        return `"${sorted[i - 1]!.text}" and "${sorted[i]!.text}" overlap`
      }
    }
    return true
  }),
  Schema.annotations({ identifier: "DayHours" })
)
/** @see DayHours */
export type DayHours = typeof DayHours.Type

/** Opening hours of a normal week; a day that is left out is closed. */
export const WeeklyHours = Schema.Struct({
  monday: Schema.optional(DayHours),
  tuesday: Schema.optional(DayHours),
  wednesday: Schema.optional(DayHours),
  thursday: Schema.optional(DayHours),
  friday: Schema.optional(DayHours),
  saturday: Schema.optional(DayHours),
  sunday: Schema.optional(DayHours)
})
/** @see WeeklyHours */
export type WeeklyHours = typeof WeeklyHours.Type

// Index = day of the week as Date#getUTCDay numbers it (0 = Sunday).
const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/

// Days since 1970-01-01 of a YYYY-MM-DD text, or undefined when no such date exists.
const epochDayOf = (text: string): number | undefined => {
  const m = ISO_DATE.exec(text)
  if (m === null) return undefined
  const [year, month, day] = [+m[1]!, +m[2]!, +m[3]!]
  const date = new Date(Date.UTC(year, month - 1, day))
  date.setUTCFullYear(year)
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day
    ? Math.round(date.getTime() / DAY_MS)
    : undefined
}

/** A calendar date `YYYY-MM-DD`, read in the calendar's time zone. */
export const IsoDate = Schema.String.pipe(
  Schema.filter((text) => epochDayOf(text) !== undefined || `"${text}" is not a date like "2026-12-24"`),
  Schema.annotations({ identifier: "IsoDate" })
)
/** @see IsoDate */
export type IsoDate = typeof IsoDate.Type

/**
 * A day that differs from the weekly hours: closed all day, or open only during `hours`
 * (a half day such as Christmas Eve `["08:00-12:00"]`).
 */
export const Holiday = Schema.Struct({
  date: IsoDate,
  name: Schema.optional(Schema.String),
  /** Absent or empty: closed all day. */
  hours: Schema.optional(DayHours),
  /**
   * The same month and day every year from `date` on (fixed-date holidays such as 12-25). A
   * holiday on the exact date wins over a yearly one; a yearly 02-29 applies in leap years only.
   */
  repeatsYearly: Schema.optional(Schema.Boolean)
})
/** @see Holiday */
export type Holiday = typeof Holiday.Type

const Holidays = Schema.Array(Holiday).pipe(
  Schema.filter((holidays) => {
    const seen = new Set<string>()
    for (const holiday of holidays) {
      const key = holiday.repeatsYearly === true ? `yearly ${holiday.date.slice(5)}` : holiday.date
      if (seen.has(key)) return `more than one holiday on ${key}`
      seen.add(key)
    }
    return true
  })
)

/** An IANA time zone name that this runtime's `Intl` knows, e.g. `"Europe/Helsinki"`. */
export const TimeZone = Schema.String.pipe(
  Schema.filter((zone) => isKnownTimeZone(zone) || `"${zone}" is not a time zone this runtime knows`),
  Schema.annotations({ identifier: "TimeZone" })
)
/** @see TimeZone */
export type TimeZone = typeof TimeZone.Type

/**
 * When a team works: weekly hours and holidays, as wall-clock times in one time zone.
 *
 * An instant is open when its wall-clock reading in `timeZone` falls in an opening of that
 * local date. Daylight saving follows from that rule: an opening spanning a spring-forward gap
 * is shorter, one spanning a fall-back hour is longer (the repeated readings count twice), and
 * an opening whose start is skipped begins at the first instant after the gap.
 */
export class BusinessCalendar extends Schema.Class<BusinessCalendar>("@dialogi/BusinessCalendar")({
  timeZone: TimeZone,
  weekly: WeeklyHours,
  holidays: Schema.optionalWith(Holidays, { default: () => [] })
}) {
  /** Open around the clock, every day, with no holidays. */
  static readonly alwaysOpen: BusinessCalendar = new BusinessCalendar({
    timeZone: "UTC",
    weekly: Object.fromEntries(WEEKDAYS.map((day) => [day, ["00:00-24:00"]]))
  })
}

/**
 * No opening was found within {@link NEVER_OPENS_AFTER_DAYS} days of `from`: the calendar has
 * no weekly hours (or holidays cover all of them) and no half day ahead.
 */
export class CalendarNeverOpens extends Schema.TaggedError<CalendarNeverOpens>("@dialogi/CalendarNeverOpens")(
  "CalendarNeverOpens",
  { timeZone: Schema.String, from: Schema.DateFromNumber, searchedDays: Schema.Number }
) {
  override get message(): string {
    return `[dialogi/sla] calendar in ${this.timeZone} has no opening within ${this.searchedDays} days of ${this.from.toISOString()}`
  }
}

// Milliseconds after local midnight, [start, end), sorted and merged.
type Ranges = ReadonlyArray<readonly [number, number]>

interface Compiled {
  readonly zone: string
  readonly weekly: ReadonlyArray<Ranges>
  readonly dated: ReadonlyMap<number, Ranges>
  readonly yearly: ReadonlyMap<number, { readonly fromYear: number; readonly ranges: Ranges }>
}

const toRanges = (hours: DayHours | undefined): Ranges => {
  const ranges = (hours ?? [])
    .map((text) => parseInterval(text)!.map((minute) => minute * MINUTE_MS) as [number, number])
    .sort((a, b) => a[0] - b[0])
  const merged: Array<[number, number]> = []
  for (const [start, end] of ranges) {
    const last = merged[merged.length - 1]
    // Touching intervals ("08:00-12:00", "12:00-17:00") are one opening.
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end)
    else merged.push([start, end])
  }
  return merged
}

const compiled = new WeakMap<BusinessCalendar, Compiled>()

const compile = (calendar: BusinessCalendar): Compiled => {
  let result = compiled.get(calendar)
  if (result !== undefined) return result
  const dated = new Map<number, Ranges>()
  const yearly = new Map<number, { fromYear: number; ranges: Ranges }>()
  for (const holiday of calendar.holidays) {
    const ranges = toRanges(holiday.hours)
    if (holiday.repeatsYearly === true) {
      const [year, month, day] = holiday.date.split("-").map(Number) as [number, number, number]
      yearly.set(month * 100 + day, { fromYear: year, ranges })
    } else {
      dated.set(epochDayOf(holiday.date)!, ranges)
    }
  }
  result = {
    zone: calendar.timeZone,
    weekly: WEEKDAYS.map((day) => toRanges(calendar.weekly[day])),
    dated,
    yearly
  }
  compiled.set(calendar, result)
  return result
}

// The openings of a local date, given as days since 1970-01-01.
const rangesOn = (calendar: Compiled, day: number): Ranges => {
  const dated = calendar.dated.get(day)
  if (dated !== undefined) return dated
  if (calendar.yearly.size > 0) {
    const date = new Date(day * DAY_MS)
    const yearly = calendar.yearly.get((date.getUTCMonth() + 1) * 100 + date.getUTCDate())
    if (yearly !== undefined && date.getUTCFullYear() >= yearly.fromYear) return yearly.ranges
  }
  // 1970-01-01 was a Thursday (4).
  return calendar.weekly[(((day + 4) % 7) + 7) % 7]!
}

type ScanOutcome = "stopped" | "reached-until" | "never-opens"

// Visits the open spans of [from, until) in order, until `visit` returns true. Steps one
// constant-offset segment at a time and, inside it, one local day at a time; an unbounded scan
// gives up after NEVER_OPENS_AFTER_DAYS of closed time.
const scan = (
  calendar: Compiled,
  from: number,
  until: number,
  visit: (start: number, end: number) => boolean
): ScanOutcome => {
  const unbounded = until === Number.POSITIVE_INFINITY
  let lastOpen = from
  let t = from
  while (t < until) {
    const segment = segmentAt(calendar.zone, t)
    const end = Math.min(segment.end, until)
    const offset = segment.offset
    const wallFrom = t + offset
    const wallTo = end + offset
    for (let day = Math.floor(wallFrom / DAY_MS); day * DAY_MS < wallTo; day++) {
      const midnight = day * DAY_MS
      for (const [start, stop] of rangesOn(calendar, day)) {
        const lo = Math.max(midnight + start, wallFrom)
        const hi = Math.min(midnight + stop, wallTo)
        if (lo < hi) {
          if (visit(lo - offset, hi - offset)) return "stopped"
          lastOpen = hi - offset
        }
      }
      if (unbounded && midnight + DAY_MS - offset - lastOpen > NEVER_OPENS_AFTER_DAYS * DAY_MS) {
        return "never-opens"
      }
    }
    t = end
  }
  return "reached-until"
}

const millisOf = (what: string, date: Date): number => {
  const ms = date.getTime()
  if (Number.isNaN(ms)) throw new RangeError(`[dialogi/sla] ${what} is an invalid Date`)
  return ms
}

const neverOpens = (calendar: BusinessCalendar, from: number) =>
  Either.left(
    new CalendarNeverOpens({
      timeZone: calendar.timeZone,
      from: new Date(from),
      searchedDays: NEVER_OPENS_AFTER_DAYS
    })
  )

/** Whether the calendar is open at `instant`. */
export const isOpen = (instant: Date, calendar: BusinessCalendar): boolean => {
  const c = compile(calendar)
  const ms = millisOf("instant", instant)
  const wall = ms + offsetAt(c.zone, ms)
  const day = Math.floor(wall / DAY_MS)
  const sinceMidnight = wall - day * DAY_MS
  return rangesOn(c, day).some(([start, end]) => start <= sinceMidnight && sinceMidnight < end)
}

/**
 * The earliest instant at or after `instant` when the calendar is open: `instant` itself when
 * it is open. Fails with {@link CalendarNeverOpens} when nothing opens within
 * {@link NEVER_OPENS_AFTER_DAYS} days.
 */
export const nextOpening = (
  instant: Date,
  calendar: BusinessCalendar
): Either.Either<Date, CalendarNeverOpens> => {
  const from = millisOf("instant", instant)
  let found = from
  const outcome = scan(compile(calendar), from, Number.POSITIVE_INFINITY, (start) => {
    found = start
    return true
  })
  return outcome === "stopped" ? Either.right(new Date(found)) : neverOpens(calendar, from)
}

/**
 * The earliest instant by which `durationMs` of open time has passed since `start`. Closed
 * time does not count, so a start in closed time begins counting at the next opening; the
 * result always lies in or at the end of an opening, never at the next one's start. A zero
 * duration returns `start` unchanged.
 *
 * Fails with {@link CalendarNeverOpens} when the calendar stays closed for
 * {@link NEVER_OPENS_AFTER_DAYS} days before the duration is used up.
 *
 * @throws RangeError for a negative or non-finite duration or an invalid Date (programming errors).
 */
export const addBusinessTime = (
  start: Date,
  durationMs: number,
  calendar: BusinessCalendar
): Either.Either<Date, CalendarNeverOpens> => {
  const from = millisOf("start", start)
  if (!Number.isFinite(durationMs) || durationMs < 0) {
    throw new RangeError(`[dialogi/sla] business duration must be finite and >= 0, got ${durationMs}`)
  }
  if (durationMs === 0) return Either.right(new Date(from))
  let remaining = durationMs
  let due = from
  const outcome = scan(compile(calendar), from, Number.POSITIVE_INFINITY, (open, close) => {
    if (remaining <= close - open) {
      due = open + remaining
      return true
    }
    remaining -= close - open
    return false
  })
  return outcome === "stopped" ? Either.right(new Date(due)) : neverOpens(calendar, from)
}

/**
 * Open milliseconds in `[a, b)`. Antisymmetric: when `b` is before `a` the result is minus the
 * open time in `[b, a)`, so `businessTimeBetween(a, b) + businessTimeBetween(b, c)` is the
 * time between `a` and `c` in any order. Never fails: a range is finite even if it is closed.
 */
export const businessTimeBetween = (a: Date, b: Date, calendar: BusinessCalendar): number => {
  const from = millisOf("a", a)
  const until = millisOf("b", b)
  // `0 -` rather than unary minus: an empty reversed range is 0, not -0.
  if (until < from) return 0 - businessTimeBetween(b, a, calendar)
  let total = 0
  scan(compile(calendar), from, until, (open, close) => {
    total += close - open
    return false
  })
  return total
}
