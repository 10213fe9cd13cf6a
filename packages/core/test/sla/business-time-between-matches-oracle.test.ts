import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { businessTimeBetween, isOpen, nextOpening } from "../../src/sla/BusinessCalendar.js"
import { calendarAndInstant } from "./calendarArbitraries.js"
import { DAY, MINUTE, openMinute, oracleBetween, oracleNextOpening } from "./minuteOracle.js"

const ORACLE_LIMIT = 30 * DAY
const iso = (t: number) => new Date(t).toISOString()

describe("businessTimeBetween", () => {
  it("equals the open minutes counted one by one, and their negation when reversed", () => {
    const range = calendarAndInstant.chain(({ calendar, instant }) =>
      fc
        .oneof(fc.integer({ min: 0, max: 24 * 60 }), fc.integer({ min: 0, max: 8 * 24 * 60 }))
        .map((minutes) => ({ calendar, a: instant, b: instant + minutes * MINUTE }))
    )
    fc.assert(
      fc.property(range, ({ calendar, a, b }) => {
        const expected = oracleBetween(calendar, a, b)
        expect(businessTimeBetween(new Date(a), new Date(b), calendar)).toBe(expected)
        expect(businessTimeBetween(new Date(b), new Date(a), calendar)).toBe(0 - expected)
      }),
      { numRuns: 1000 }
    )
  })

  it("adds up over consecutive ranges", () => {
    const three = calendarAndInstant.chain(({ calendar, instant }) =>
      fc
        .array(fc.integer({ min: -20 * DAY, max: 20 * DAY }), { minLength: 2, maxLength: 2 })
        .map(([x, y]) => ({ calendar, a: instant, b: instant + x!, c: instant + y! }))
    )
    fc.assert(
      fc.property(three, ({ calendar, a, b, c }) => {
        const between = (x: number, y: number) => businessTimeBetween(new Date(x), new Date(y), calendar)
        expect(between(a, b) + between(b, c)).toBe(between(a, c))
      }),
      { numRuns: 1000 }
    )
  })
})

describe("isOpen and nextOpening", () => {
  it("isOpen agrees with the wall clock for every millisecond of a minute", () => {
    const inMinute = calendarAndInstant.chain(({ calendar, instant }) =>
      fc.integer({ min: 0, max: MINUTE - 1 }).map((ms) => ({ calendar, instant, ms }))
    )
    fc.assert(
      fc.property(inMinute, ({ calendar, instant, ms }) => {
        expect(isOpen(new Date(instant + ms), calendar)).toBe(openMinute(calendar, instant))
      }),
      { numRuns: 5000 }
    )
  })

  it("nextOpening is the first open minute, or fails for a calendar that stays closed", () => {
    fc.assert(
      fc.property(calendarAndInstant, ({ calendar, instant }) => {
        const expected = oracleNextOpening(calendar, instant, ORACLE_LIMIT)
        const actual = nextOpening(new Date(instant), calendar)
        if (expected === undefined) {
          if (Either.isRight(actual))
            expect(actual.right.getTime()).toBeGreaterThanOrEqual(instant + ORACLE_LIMIT)
        } else {
          expect(Either.isRight(actual) ? iso(actual.right.getTime()) : actual.left._tag).toBe(iso(expected))
        }
      }),
      { numRuns: 1000 }
    )
  })
})
