import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { takeConflictFree } from "../src/hub/ingest/conflictFreeBatch.js"

interface Item {
  readonly id: number
  readonly keys: ReadonlyArray<string>
}

const key: fc.Arbitrary<string> = fc.constantFrom("a", "b", "c", "d", "e", "f")
const waiting = fc
  .array(fc.uniqueArray(key, { minLength: 1, maxLength: 3 }), { maxLength: 30 })
  .map((keysList): Item[] => keysList.map((keys, id) => ({ id, keys })))
const held = fc.uniqueArray(key, { maxLength: 3 }).map((keys) => new Set(keys))
const max = fc.integer({ min: 1, max: 10 })

describe("takeConflictFree", () => {
  it("loses nothing and keeps the order of what is left", () => {
    fc.assert(
      fc.property(waiting, held, max, (items, heldKeys, n) => {
        const { batch, rest } = takeConflictFree(items, heldKeys, n)
        expect([...batch, ...rest].map((i) => i.id).sort((a, b) => a - b)).toEqual(items.map((i) => i.id))
        const ascending = (xs: ReadonlyArray<Item>) => xs.every((x, i) => i === 0 || xs[i - 1]!.id < x.id)
        expect(ascending(batch) && ascending(rest)).toBe(true)
      }),
      { numRuns: 1000 }
    )
  })

  it("takes at most max items and none with a key in flight", () => {
    fc.assert(
      fc.property(waiting, held, max, (items, heldKeys, n) => {
        const { batch } = takeConflictFree(items, heldKeys, n)
        expect(batch.length).toBeLessThanOrEqual(n)
        for (const item of batch) for (const k of item.keys) expect(heldKeys.has(k)).toBe(false)
      }),
      { numRuns: 1000 }
    )
  })

  it("never lets an item overtake an earlier one that shares a key", () => {
    fc.assert(
      fc.property(waiting, held, max, (items, heldKeys, n) => {
        const { batch, rest } = takeConflictFree(items, heldKeys, n)
        for (const taken of batch)
          for (const left of rest)
            if (left.id < taken.id) expect(left.keys.some((k) => taken.keys.includes(k))).toBe(false)
      }),
      { numRuns: 1000 }
    )
  })

  it("fills the batch with every item that may go", () => {
    fc.assert(
      fc.property(waiting, held, max, (items, heldKeys, n) => {
        const { batch, rest } = takeConflictFree(items, heldKeys, n)
        if (batch.length === n) return
        // Each item left behind holds a key in flight or one of an item left behind before it.
        for (const [i, left] of rest.entries()) {
          const earlier = new Set(rest.slice(0, i).flatMap((r) => r.keys))
          expect(left.keys.some((k) => heldKeys.has(k) || earlier.has(k))).toBe(true)
        }
      }),
      { numRuns: 1000 }
    )
  })

  it("takes duplicates of one key together when nothing holds it", () => {
    const items = [
      { id: 0, keys: ["msg:1"] },
      { id: 1, keys: ["msg:1"] },
      { id: 2, keys: ["msg:2"] }
    ]
    expect(takeConflictFree(items, new Set(), 10).batch.map((i) => i.id)).toEqual([0, 1, 2])
    expect(takeConflictFree(items, new Set(["msg:1"]), 10).batch.map((i) => i.id)).toEqual([2])
  })
})
