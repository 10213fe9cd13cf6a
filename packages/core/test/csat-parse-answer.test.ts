import { describe, expect, it } from "vitest"
import { parseCsatAnswer } from "../src/index.js"

describe("parseCsatAnswer", () => {
  it.each([
    ["5", 5, undefined],
    ["4 - quick and friendly", 4, "quick and friendly"],
    ["  3/5, slow at first ", 3, "slow at first"],
    ["2 stars. The bot looped", 2, "The bot looped"],
    ["1: never again", 1, "never again"]
  ])("five scale reads %j as %i", (text, rating, comment) => {
    expect(parseCsatAnswer("five", text)).toEqual({ rating, comment })
  })

  it.each(["", "6", "0", "12 items missing", "3.5", "hello, 5 stars", "what about order 55?"])(
    "five scale: %j is not an answer",
    (text) => {
      expect(parseCsatAnswer("five", text)).toBeUndefined()
    }
  )

  it.each([
    ["👍", 1, undefined],
    ["👍🏽 thanks!", 1, "thanks!"],
    ["yes, solved", 1, "solved"],
    ["+1", 1, undefined],
    ["👎 still broken", 0, "still broken"],
    ["No - nobody called", 0, "nobody called"]
  ])("thumbs reads %j as %i", (text, rating, comment) => {
    expect(parseCsatAnswer("thumbs", text)).toEqual({ rating, comment })
  })

  it.each(["yesterday it broke", "nothing works", "5", "upgrade please"])(
    "thumbs: %j is not an answer",
    (text) => {
      expect(parseCsatAnswer("thumbs", text)).toBeUndefined()
    }
  )
})
