import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import {
  addBusinessTime,
  BusinessCalendar,
  businessTimeBetween,
  CalendarNeverOpens,
  isOpen,
  nextOpening
} from "../../src/sla/BusinessCalendar.js"

const HOUR = 3_600_000
const weekdays = (hours: ReadonlyArray<string>) => ({
  monday: hours,
  tuesday: hours,
  wednesday: hours,
  thursday: hours,
  friday: hours
})
const everyDay = (hours: ReadonlyArray<string>) => ({ ...weekdays(hours), saturday: hours, sunday: hours })

const office = new BusinessCalendar({ timeZone: "Europe/Helsinki", weekly: weekdays(["08:00-17:00"]) })
const add = (start: string, ms: number, calendar: BusinessCalendar) =>
  Either.getOrThrow(addBusinessTime(new Date(start), ms, calendar)).toISOString()
const between = (a: string, b: string, calendar: BusinessCalendar) =>
  businessTimeBetween(new Date(a), new Date(b), calendar)

describe("addBusinessTime", () => {
  it("carries two hours from Friday 17:00 over the weekend to Monday 10:00", () => {
    // 17:00 in Helsinki in March is 15:00 UTC (EET, +02:00).
    expect(add("2026-03-06T15:00:00Z", 2 * HOUR, office)).toBe("2026-03-09T08:00:00.000Z")
  })

  it("starts counting at the next opening and skips the lunch break", () => {
    const split = new BusinessCalendar({ timeZone: "UTC", weekly: weekdays(["08:00-12:00", "13:00-17:00"]) })
    expect(add("2026-03-09T06:00:00Z", 5 * HOUR, split)).toBe("2026-03-09T14:00:00.000Z")
  })

  it("ends at the close, not at the next opening, when the duration uses up a day exactly", () => {
    expect(add("2026-03-06T06:00:00Z", 9 * HOUR, office)).toBe("2026-03-06T15:00:00.000Z")
  })

  it("returns the start unchanged for a zero duration, even in closed time", () => {
    expect(add("2026-03-07T12:00:00Z", 0, office)).toBe("2026-03-07T12:00:00.000Z")
  })

  it("counts wall-clock hours in Helsinki across the spring-forward night", () => {
    // 2026-03-29: 03:00 EET becomes 04:00 EEST, so 01:00-06:00 is four hours long.
    const night = new BusinessCalendar({ timeZone: "Europe/Helsinki", weekly: everyDay(["01:00-06:00"]) })
    expect(between("2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z", night)).toBe(4 * HOUR)
    expect(add("2026-03-28T23:00:00Z", 3 * HOUR, night)).toBe("2026-03-29T02:00:00.000Z")
    // And on the fall-back night (2026-10-25, 04:00 EEST becomes 03:00 EET) six hours long.
    expect(between("2026-10-24T12:00:00Z", "2026-10-25T12:00:00Z", night)).toBe(6 * HOUR)
  })

  it("opens at the first instant after the gap when the opening time does not exist", () => {
    const late = new BusinessCalendar({ timeZone: "Europe/Helsinki", weekly: { sunday: ["03:30-05:00"] } })
    expect(Either.getOrThrow(nextOpening(new Date("2026-03-28T12:00:00Z"), late)).toISOString()).toBe(
      "2026-03-29T01:00:00.000Z"
    )
    expect(between("2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z", late)).toBe(HOUR)
  })

  it("keeps New York's 09:00-17:00 at 09:00 local on both sides of the change", () => {
    const ny = new BusinessCalendar({ timeZone: "America/New_York", weekly: weekdays(["09:00-17:00"]) })
    // Friday 2026-03-06 16:00 EST (21:00Z) + 2 h = Monday 2026-03-09 10:00 EDT (14:00Z).
    expect(add("2026-03-06T21:00:00Z", 2 * HOUR, ny)).toBe("2026-03-09T14:00:00.000Z")
  })

  it("honours a half-day holiday and a closed one", () => {
    const christmas = new BusinessCalendar({
      timeZone: "Europe/Helsinki",
      weekly: weekdays(["08:00-17:00"]),
      holidays: [
        { date: "2026-12-24", name: "Christmas Eve", hours: ["08:00-12:00"] },
        { date: "2026-12-25", name: "Christmas Day" }
      ]
    })
    // Thursday 24th 11:00 (09:00Z): one hour left that day, Friday closed, Monday 28th 10:00.
    expect(add("2026-12-24T09:00:00Z", 3 * HOUR, christmas)).toBe("2026-12-28T08:00:00.000Z")
    expect(isOpen(new Date("2026-12-24T10:30:00Z"), christmas)).toBe(false)
  })

  it("repeats a yearly holiday from its first year on", () => {
    const calendar = new BusinessCalendar({
      timeZone: "UTC",
      weekly: everyDay(["00:00-24:00"]),
      holidays: [{ date: "2026-05-01", name: "May Day", repeatsYearly: true }]
    })
    expect(isOpen(new Date("2025-05-01T12:00:00Z"), calendar)).toBe(true)
    expect(isOpen(new Date("2026-05-01T12:00:00Z"), calendar)).toBe(false)
    expect(isOpen(new Date("2031-05-01T12:00:00Z"), calendar)).toBe(false)
  })

  it("takes well under a millisecond for 30 days of business time", () => {
    const start = new Date("2026-01-05T06:00:00Z")
    addBusinessTime(start, 30 * 24 * HOUR, office)
    const runs = 500
    const begin = performance.now()
    for (let i = 0; i < runs; i++)
      addBusinessTime(new Date(start.getTime() + i * HOUR), 30 * 24 * HOUR, office)
    expect((performance.now() - begin) / runs).toBeLessThan(1)
  })

  it("refuses a negative duration as a programming error", () => {
    expect(() => addBusinessTime(new Date(), -1, office)).toThrow(RangeError)
  })
})

describe("a calendar that never opens", () => {
  it("fails promptly with CalendarNeverOpens instead of searching forever", () => {
    const closed = new BusinessCalendar({
      timeZone: "Europe/Helsinki",
      weekly: {},
      holidays: [{ date: "2026-06-19", hours: ["09:00-10:00"] }]
    })
    const begin = performance.now()
    const result = addBusinessTime(new Date("2026-06-19T06:00:00Z"), 2 * HOUR, closed)
    expect(performance.now() - begin).toBeLessThan(200)
    expect(Either.isLeft(result) && result.left).toBeInstanceOf(CalendarNeverOpens)
    expect(Either.isLeft(nextOpening(new Date("2026-06-20T00:00:00Z"), closed))).toBe(true)
    // Counting inside a range needs no search, so it still answers.
    expect(between("2026-06-19T00:00:00Z", "2026-06-20T00:00:00Z", closed)).toBe(HOUR)
  })
})

describe("businessTimeBetween, isOpen and nextOpening", () => {
  it("is negative when the range runs backwards", () => {
    expect(between("2026-03-09T08:00:00Z", "2026-03-09T06:00:00Z", office)).toBe(-2 * HOUR)
    expect(between("2026-03-07T08:00:00Z", "2026-03-07T06:00:00Z", office)).toBe(0)
  })

  it("treats the close as closed and the opening as open", () => {
    expect(isOpen(new Date("2026-03-09T06:00:00Z"), office)).toBe(true)
    expect(isOpen(new Date("2026-03-09T15:00:00Z"), office)).toBe(false)
    const now = new Date("2026-03-09T07:00:00Z")
    expect(Either.getOrThrow(nextOpening(now, office))).toEqual(now)
  })

  it("counts every millisecond on the always-open calendar", () => {
    const start = new Date("2026-10-24T21:13:14.015Z")
    expect(Either.getOrThrow(addBusinessTime(start, 12_345_678, BusinessCalendar.alwaysOpen)).getTime()).toBe(
      start.getTime() + 12_345_678
    )
    expect(businessTimeBetween(start, new Date(start.getTime() + 99), BusinessCalendar.alwaysOpen)).toBe(99)
  })
})

describe("BusinessCalendar schema", () => {
  const decode = Schema.decodeUnknownEither(BusinessCalendar)
  const failure = (input: unknown) => {
    const result = decode(input)
    return Either.isLeft(result) ? result.left.message : "decoded"
  }

  it("decodes a calendar from JSON with several openings a day and 24:00 as an end", () => {
    const result = decode({
      timeZone: "America/New_York",
      weekly: { monday: ["08:00-12:00", "13:00-17:00"], saturday: ["20:00-24:00"] },
      holidays: [{ date: "2026-12-24", hours: ["08:00-12:00"] }, { date: "2026-12-25" }]
    })
    expect(Either.isRight(result)).toBe(true)
  })

  it("rejects overlapping, reversed and malformed openings", () => {
    expect(failure({ timeZone: "UTC", weekly: { monday: ["08:00-12:00", "11:00-13:00"] } })).toContain(
      "overlap"
    )
    expect(failure({ timeZone: "UTC", weekly: { monday: ["12:00-08:00"] } })).toContain(
      "closes before it opens"
    )
    expect(failure({ timeZone: "UTC", weekly: { monday: ["24:00-24:00"] } })).toContain(
      "not an opening interval"
    )
    expect(failure({ timeZone: "UTC", weekly: { monday: ["8-17"] } })).toContain("not an opening interval")
  })

  it("rejects unknown zones, impossible dates and two holidays on one date", () => {
    expect(failure({ timeZone: "Mars/Olympus_Mons", weekly: {} })).toContain("not a time zone")
    expect(failure({ timeZone: "UTC", weekly: {}, holidays: [{ date: "2026-02-29" }] })).toContain(
      "not a date"
    )
    expect(
      failure({
        timeZone: "UTC",
        weekly: {},
        holidays: [{ date: "2026-12-24" }, { date: "2026-12-24", hours: [] }]
      })
    ).toContain("more than one holiday")
  })
})
