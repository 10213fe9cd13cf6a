/**
 * A brute-force model of a business calendar for the property tests: it reads the wall clock
 * of every single minute from Intl and checks it against the calendar's data. It shares no
 * code with src/sla, so a mistake in the interval stepping or the offset tables shows up as a
 * disagreement.
 */
import type { BusinessCalendar } from "../../src/sla/BusinessCalendar.js"

export const MINUTE = 60_000
export const DAY = 86_400_000

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const

const formatters = new Map<string, Intl.DateTimeFormat>()
const WALL = /^(\d+)\/(\d+)\/(\d+),\s(\d+):(\d+)$/

/** The local date and minute of the day of `instant` in `zone`, straight from Intl. */
export const wallClock = (zone: string, instant: number) => {
  let formatter = formatters.get(zone)
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric"
    })
    formatters.set(zone, formatter)
  }
  const m = WALL.exec(formatter.format(instant))!
  const [month, day, year] = [+m[1]!, +m[2]!, +m[3]!]
  return {
    year,
    date: `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`,
    weekday: new Date(Date.UTC(year, month - 1, day)).getUTCDay(),
    minuteOfDay: +m[4]! * 60 + +m[5]!
  }
}

const minutes = (hhmm: string): number => +hhmm.slice(0, 2) * 60 + +hhmm.slice(3, 5)

const within = (intervals: ReadonlyArray<string> | undefined, minute: number): boolean =>
  (intervals ?? []).some((interval) => {
    const [start, end] = interval.split("-") as [string, string]
    return minutes(start) <= minute && minute < minutes(end)
  })

/** Whether the minute starting at `instant` is open, by the calendar's definition. */
export const openMinute = (calendar: BusinessCalendar, instant: number): boolean => {
  const wall = wallClock(calendar.timeZone, instant)
  const exact = calendar.holidays.find((h) => h.repeatsYearly !== true && h.date === wall.date)
  if (exact !== undefined) return within(exact.hours, wall.minuteOfDay)
  const yearly = calendar.holidays.find(
    (h) =>
      h.repeatsYearly === true && h.date.slice(5) === wall.date.slice(5) && +h.date.slice(0, 4) <= wall.year
  )
  if (yearly !== undefined) return within(yearly.hours, wall.minuteOfDay)
  return within(calendar.weekly[WEEKDAYS[wall.weekday]!], wall.minuteOfDay)
}

/** Open time in [a, b), both on minute boundaries, counted a minute at a time. */
export const oracleBetween = (calendar: BusinessCalendar, a: number, b: number): number => {
  let open = 0
  for (let t = a; t < b; t += MINUTE) if (openMinute(calendar, t)) open += MINUTE
  return open
}

/** The instant after `duration` open minutes from `start`, or undefined past `limit`. */
export const oracleAdd = (
  calendar: BusinessCalendar,
  start: number,
  duration: number,
  limit: number
): number | undefined => {
  let left = duration
  let t = start
  while (left > 0) {
    if (t - start >= limit) return undefined
    if (openMinute(calendar, t)) left -= MINUTE
    t += MINUTE
  }
  return t
}

/** The first open minute at or after `start`, or undefined past `limit`. */
export const oracleNextOpening = (
  calendar: BusinessCalendar,
  start: number,
  limit: number
): number | undefined => {
  for (let t = start; t - start < limit; t += MINUTE) if (openMinute(calendar, t)) return t
  return undefined
}
