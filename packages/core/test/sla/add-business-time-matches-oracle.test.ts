import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { addBusinessTime, businessTimeBetween } from "../../src/sla/BusinessCalendar.js"
import { calendarAndInstant, weeklyOpenMinutes } from "./calendarArbitraries.js"
import { DAY, MINUTE, oracleAdd } from "./minuteOracle.js"

const ORACLE_LIMIT = 30 * DAY
const iso = (t: number) => new Date(t).toISOString()

// Up to ten round-the-clock days, but at most two weeks' worth of the calendar's own hours,
// so that the oracle's minute loop stays within its limit for sparse calendars.
const withDuration = calendarAndInstant.chain(({ calendar, instant }) => {
  const most = Math.min(10 * 24 * 60, Math.max(120, 2 * weeklyOpenMinutes(calendar)))
  return fc
    .oneof(fc.integer({ min: 0, max: Math.min(most, 600) }), fc.integer({ min: 0, max: most }))
    .map((minutes) => ({ calendar, instant, duration: minutes * MINUTE }))
})

describe("addBusinessTime", () => {
  it("lands where a minute-by-minute count of open time lands", () => {
    fc.assert(
      fc.property(withDuration, ({ calendar, instant, duration }) => {
        const expected = oracleAdd(calendar, instant, duration, ORACLE_LIMIT)
        const actual = addBusinessTime(new Date(instant), duration, calendar)
        if (expected === undefined) {
          // Past the oracle's reach: the answer must lie beyond it, or the calendar never opens.
          if (Either.isRight(actual))
            expect(actual.right.getTime()).toBeGreaterThan(instant + ORACLE_LIMIT - MINUTE)
        } else {
          expect(Either.isRight(actual) ? iso(actual.right.getTime()) : actual.left._tag).toBe(iso(expected))
        }
      }),
      { numRuns: 1000 }
    )
  })

  it("is undone by businessTimeBetween, to the millisecond", () => {
    const anyMillis = calendarAndInstant.chain(({ calendar, instant }) =>
      fc
        .tuple(fc.integer({ min: -MINUTE + 1, max: MINUTE - 1 }), fc.integer({ min: 0, max: 30 * DAY }))
        .map(([jitter, duration]) => ({ calendar, start: instant + jitter, duration }))
    )
    fc.assert(
      fc.property(anyMillis, ({ calendar, start, duration }) => {
        const due = addBusinessTime(new Date(start), duration, calendar)
        if (Either.isLeft(due)) return
        expect(businessTimeBetween(new Date(start), due.right, calendar)).toBe(duration)
        // The earliest such instant: a millisecond earlier is not enough.
        if (duration > 0)
          expect(businessTimeBetween(new Date(start), new Date(due.right.getTime() - 1), calendar)).toBe(
            duration - 1
          )
      }),
      { numRuns: 2000 }
    )
  })
})
