import type { CsatScale } from "./CsatSurvey.js"

/** A rating read from a customer's message, with what they wrote after it. */
export interface ParsedCsatAnswer {
  readonly rating: number
  readonly comment: string | undefined
}

/** Comments are kept to this length; the full message is stored as the message itself. */
export const maxCommentLength = 2000

// What may separate the rating from a comment: "5 - great", "4: ok", "5, thanks", "5. Fast".
const separator = /^[\s\-–—:,.;!]*/u

const comment = (rest: string): string | undefined => {
  const text = rest.replace(separator, "").trim()
  return text === "" ? undefined : text.slice(0, maxCommentLength)
}

const thumbs: ReadonlyArray<readonly [RegExp, number]> = [
  [/^(?:👍(?:[\u{1F3FB}-\u{1F3FF}])?|\+1|yes|up|good|great)(?![\p{L}\p{N}])/iu, 1],
  [/^(?:👎(?:[\u{1F3FB}-\u{1F3FF}])?|-1|no|down|bad)(?![\p{L}\p{N}])/iu, 0]
]

/**
 * Reads a survey answer from the text of a customer's message: on the five scale a leading 1-5
 * (optionally "4/5", "4 stars"), on thumbs a leading 👍/👎, yes/no, up/down, +1/-1. Anything else
 * is not an answer (undefined): the customer moved on, and their message is a normal message.
 */
export const parseCsatAnswer = (scale: CsatScale, text: string): ParsedCsatAnswer | undefined => {
  const trimmed = text.trim()
  if (scale === "five") {
    const match = /^([1-5])(?:\s*\/\s*5|\s*stars?\b|\s*★)?(?![\p{N}.,]\p{N})(?!\p{N})/iu.exec(trimmed)
    if (match === null) return undefined
    return { rating: Number(match[1]), comment: comment(trimmed.slice(match[0].length)) }
  }
  for (const [pattern, rating] of thumbs) {
    const match = pattern.exec(trimmed)
    if (match !== null) return { rating, comment: comment(trimmed.slice(match[0].length)) }
  }
  return undefined
}
