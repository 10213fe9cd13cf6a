import { readFileSync } from "node:fs"
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { addBusinessTime, BusinessCalendar, isOpen } from "../../src/sla/BusinessCalendar.js"
import { holidaysFromICalendar, InvalidICalendar } from "../../src/sla/ICalendarHolidays.js"

const fixture = readFileSync(new URL("./fixtures/holidays-fi-2026.ics", import.meta.url), "utf8")
const wrap = (...lines: ReadonlyArray<string>) =>
  ["BEGIN:VCALENDAR", "VERSION:2.0", ...lines, "END:VCALENDAR"].join("\r\n")
const event = (...lines: ReadonlyArray<string>) => ["BEGIN:VEVENT", ...lines, "END:VEVENT"]
const error = (text: string, zone = "Europe/Helsinki") => {
  const result = holidaysFromICalendar(text, zone)
  if (Either.isRight(result)) throw new Error(`expected a failure, got ${JSON.stringify(result.right)}`)
  expect(result.left).toBeInstanceOf(InvalidICalendar)
  return result.left
}

describe("holidaysFromICalendar", () => {
  it("reads all-day, multi-day, TZID, UTC and yearly events, unfolding long lines", () => {
    expect(Either.getOrThrow(holidaysFromICalendar(fixture, "Europe/Helsinki"))).toEqual([
      { date: "2026-01-01", name: "Uudenvuodenpäivä, New Year's Day" },
      // 22:00 UTC on 30 April is 01:00 on 1 May in Helsinki.
      { date: "2026-05-01", name: "Vappu" },
      // A date-time end at midnight does not close the next day.
      { date: "2026-06-19", name: "Midsummer Eve" },
      { date: "2026-12-24", name: "Christmas holidays (Eve, Day and St Stephen's Day)" },
      { date: "2026-12-25", name: "Christmas holidays (Eve, Day and St Stephen's Day)" },
      { date: "2026-12-26", name: "Christmas holidays (Eve, Day and St Stephen's Day)" },
      { date: "2017-12-06", name: "Independence Day", repeatsYearly: true }
    ])
  })

  it("reads a UTC date-time as the date in the calendar's zone", () => {
    const [vappu] = Either.getOrThrow(
      holidaysFromICalendar(wrap(...event("DTSTART:20260430T220000Z", "SUMMARY:Vappu")), "America/New_York")
    )
    expect(vappu).toEqual({ date: "2026-04-30", name: "Vappu" })
  })

  it("feeds a calendar that then skips those days", () => {
    const holidays = Either.getOrThrow(holidaysFromICalendar(fixture, "Europe/Helsinki"))
    const calendar = new BusinessCalendar({
      timeZone: "Europe/Helsinki",
      weekly: {
        monday: ["08:00-16:00"],
        tuesday: ["08:00-16:00"],
        wednesday: ["08:00-16:00"],
        thursday: ["08:00-16:00"],
        friday: ["08:00-16:00"]
      },
      holidays
    })
    // Wednesday 23 Dec 2026 15:00 + 2 h: one hour that day, then the next working day is Monday 28th.
    expect(Either.getOrThrow(addBusinessTime(new Date("2026-12-23T13:00:00Z"), 7_200_000, calendar))).toEqual(
      new Date("2026-12-28T07:00:00Z")
    )
    // Independence Day repeats: Friday 5 Dec 2031 is open, Monday 6 Dec 2032 is not.
    expect(isOpen(new Date("2031-12-05T10:00:00Z"), calendar)).toBe(true)
    expect(isOpen(new Date("2032-12-06T10:00:00Z"), calendar)).toBe(false)
  })

  it("expands yearly rules with COUNT or UNTIL into dates, skipping 29 February in common years", () => {
    const text = wrap(
      ...event("DTSTART;VALUE=DATE:20250501", "RRULE:FREQ=YEARLY;COUNT=3", "SUMMARY:May Day"),
      ...event("DTSTART;VALUE=DATE:20240229", "RRULE:FREQ=YEARLY;UNTIL=20290301", "SUMMARY:Leap"),
      ...event("DTSTART;VALUE=DATE:20320229", "RRULE:FREQ=YEARLY;COUNT=2", "SUMMARY:Leap twice")
    )
    expect(Either.getOrThrow(holidaysFromICalendar(text, "UTC")).map((h) => h.date)).toEqual([
      "2024-02-29",
      "2025-05-01",
      "2026-05-01",
      "2027-05-01",
      "2028-02-29",
      "2032-02-29",
      "2036-02-29"
    ])
  })

  it("merges two events on one day and skips cancelled ones", () => {
    const text = wrap(
      ...event("DTSTART;VALUE=DATE:20261224", "SUMMARY:Christmas Eve"),
      ...event("DTSTART;VALUE=DATE:20261224", "SUMMARY:Office closed"),
      ...event("DTSTART;VALUE=DATE:20261231", "STATUS:CANCELLED")
    )
    expect(Either.getOrThrow(holidaysFromICalendar(text, "UTC"))).toEqual([
      { date: "2026-12-24", name: "Christmas Eve / Office closed" }
    ])
  })

  it("accepts LF line ends, tab folding and quoted parameters", () => {
    const text = [
      "BEGIN:VCALENDAR",
      "BEGIN:VEVENT",
      'DTSTART;X-NOTE="a;b:c";VALUE=DATE:20260',
      "\t106",
      "SUMMARY:Loppiainen",
      "END:VEVENT",
      "END:VCALENDAR"
    ].join("\n")
    expect(Either.getOrThrow(holidaysFromICalendar(text, "UTC"))).toEqual([
      { date: "2026-01-06", name: "Loppiainen" }
    ])
  })

  it("fails with a typed error that names the line", () => {
    expect(error("hello").message).toContain("BEGIN:VCALENDAR")
    expect(error(wrap("BEGIN:VEVENT", "DTSTART;VALUE=DATE:20260101")).message).toContain(
      "END:VCALENDAR does not close"
    )
    expect(error(wrap(...event("SUMMARY:No date"))).message).toContain("without DTSTART")
    const bad = error(wrap(...event("DTSTART;VALUE=DATE:2026-01-01")))
    expect(bad.line).toBe(4)
    expect(bad.message).toContain("line 4")
    expect(error(wrap(...event("DTSTART;VALUE=DATE:20260230"))).message).toContain("no such date")
    expect(
      error(wrap(...event("DTSTART;VALUE=DATE:20260101", "DTEND;VALUE=DATE:20251231"))).message
    ).toContain("before DTSTART")
    expect(
      error(wrap(...event("DTSTART;VALUE=DATE:20261126", "RRULE:FREQ=YEARLY;BYDAY=4TH"))).message
    ).toContain("not supported")
    expect(error(wrap(...event("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=WEEKLY"))).message).toContain(
      "not supported"
    )
    expect(
      error(wrap(...event("DTSTART;VALUE=DATE:20260101", "DTEND;VALUE=DATE:20290101"))).message
    ).toContain("more than 366 days")
    expect(error(wrap(), "Nowhere/Land").message).toContain("not a time zone")
  })
})
