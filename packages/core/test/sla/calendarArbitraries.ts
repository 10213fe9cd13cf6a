/**
 * fast-check generators for calendars and instants, biased toward the days where clocks
 * change, since that is where wall-clock arithmetic goes wrong.
 */
import fc from "fast-check"
import { BusinessCalendar, type Holiday } from "../../src/sla/BusinessCalendar.js"
import { DAY, MINUTE, wallClock } from "./minuteOracle.js"

/** Zones with the interesting cases: none, 1 h at night, 1 h at midnight, 30 min, half-hour offset. */
export const ZONES = [
  "UTC",
  "Europe/Helsinki",
  "America/New_York",
  "America/Santiago",
  "Australia/Lord_Howe",
  "Asia/Kolkata"
] as const

const FIRST = Date.UTC(2024, 0, 1)
const LAST = Date.UTC(2027, 11, 31)

// Local dates in 2024-2027 on which the zone's offset changes, found by probing Intl at noon.
const transitionDays = new Map<string, ReadonlyArray<number>>(
  ZONES.map((zone) => {
    const days: Array<number> = []
    const minuteOfDayAtNoon = (t: number) => wallClock(zone, t).minuteOfDay
    for (let t = FIRST + DAY / 2; t < LAST; t += DAY) {
      if (minuteOfDayAtNoon(t) !== minuteOfDayAtNoon(t + DAY)) days.push(t + DAY / 2)
    }
    return [zone, days]
  })
)

const hhmm = (minute: number) =>
  `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`

// 1-3 disjoint intervals; boundaries lean to half hours so that they meet DST edges.
const intervals = fc
  .uniqueArray(
    fc.oneof(
      fc.integer({ min: 0, max: 48 }).map((h) => h * 30),
      fc.integer({ min: 0, max: 1440 })
    ),
    {
      minLength: 2,
      maxLength: 6
    }
  )
  .map((cuts) => {
    const sorted = [...cuts].sort((a, b) => a - b)
    const out: Array<string> = []
    for (let i = 0; i + 1 < sorted.length; i += 2) out.push(`${hhmm(sorted[i]!)}-${hhmm(sorted[i + 1]!)}`)
    return out
  })

const dayHours = fc.oneof(
  { arbitrary: intervals, weight: 4 },
  { arbitrary: fc.constant<Array<string>>([]), weight: 2 },
  { arbitrary: fc.constant(["00:00-24:00"]), weight: 1 }
)

const weekly = fc.record(
  {
    monday: dayHours,
    tuesday: dayHours,
    wednesday: dayHours,
    thursday: dayHours,
    friday: dayHours,
    saturday: dayHours,
    sunday: dayHours
  },
  { requiredKeys: [] }
)

/** A minute-aligned instant in 2024-2027; half of them within two days of a clock change. */
export const instantIn = (zone: string) => {
  const anywhere = fc.integer({ min: FIRST / MINUTE, max: LAST / MINUTE }).map((m) => m * MINUTE)
  const days = transitionDays.get(zone)!
  if (days.length === 0) return anywhere
  const nearChange = fc
    .tuple(fc.constantFrom(...days), fc.integer({ min: (-2 * DAY) / MINUTE, max: (2 * DAY) / MINUTE }))
    .map(([day, offset]) => Math.floor(day / MINUTE) * MINUTE + offset * MINUTE)
  return fc.oneof(anywhere, nearChange)
}

const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10)

// Holidays a few days around `near`, some half days, some yearly from a year before or after.
const holidaysNear = (near: number) =>
  fc
    .array(
      fc.record({
        dayOffset: fc.integer({ min: -2, max: 20 }),
        hours: fc.option(intervals, { nil: undefined }),
        yearly: fc.option(fc.integer({ min: -1, max: 1 }), { nil: undefined, freq: 4 })
      }),
      { maxLength: 6 }
    )
    .map((specs) => {
      const byKey = new Map<string, Holiday>()
      for (const spec of specs) {
        let date = isoDay(near + spec.dayOffset * DAY)
        if (spec.yearly !== undefined) {
          const year = +date.slice(0, 4) + spec.yearly
          // A yearly 02-29 starting in a common year is not a date; keep the real one.
          if (date.slice(5) !== "02-29") date = `${year}${date.slice(4)}`
        }
        const key = spec.yearly === undefined ? date : `yearly ${date.slice(5)}`
        if (byKey.has(key)) continue
        byKey.set(key, {
          date,
          name: "holiday",
          ...(spec.hours === undefined ? {} : { hours: spec.hours }),
          ...(spec.yearly === undefined ? {} : { repeatsYearly: true })
        })
      }
      return [...byKey.values()]
    })

/** Weekly open minutes, to scale durations so the minute-by-minute oracle stays bounded. */
export const weeklyOpenMinutes = (calendar: BusinessCalendar): number =>
  Object.values(calendar.weekly).reduce(
    (sum, day) =>
      sum +
      (day ?? []).reduce((s, interval) => {
        const [a, b] = interval.split("-").map((x) => +x.slice(0, 2) * 60 + +x.slice(3)) as [number, number]
        return s + b - a
      }, 0),
    0
  )

/** A random calendar and a minute-aligned instant near which its holidays fall. */
export const calendarAndInstant = fc.constantFrom(...ZONES).chain((zone) =>
  instantIn(zone).chain((instant) =>
    fc
      .oneof(
        { arbitrary: fc.constant(BusinessCalendar.alwaysOpen), weight: 1 },
        {
          arbitrary: fc.constant(
            new BusinessCalendar({
              timeZone: zone,
              weekly: Object.fromEntries(
                ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"].map((d) => [
                  d,
                  ["00:00-24:00"]
                ])
              )
            })
          ),
          weight: 1
        },
        {
          arbitrary: fc
            .tuple(weekly, holidaysNear(instant))
            .map(([w, holidays]) => new BusinessCalendar({ timeZone: zone, weekly: w, holidays })),
          weight: 8
        }
      )
      .map((calendar) => ({ calendar, instant }))
  )
)
