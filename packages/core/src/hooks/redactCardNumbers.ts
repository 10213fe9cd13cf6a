import type { MessagePart } from "../domain/Message.js"
import type { HookResult } from "./Hook.js"

// 13 to 19 digits, optionally grouped by single spaces or dashes: the lengths card networks
// issue (ISO/IEC 7812). The Luhn check keeps order numbers and phone numbers intact.
const candidate = /\b\d(?:[ -]?\d){12,18}\b/g

const luhnValid = (digits: string): boolean => {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/** Replaces every Luhn-valid card number in `text`, keeping its last four digits. */
export const redactCardNumbersInText = (text: string): string =>
  text.replace(candidate, (match) => {
    const digits = match.replace(/[ -]/g, "")
    return luhnValid(digits) ? `[card ending ${digits.slice(-4)}]` : match
  })

/**
 * A ready-made hook body that redacts card numbers in text, html and voice transcript parts; use it as the `run`
 * of an ingest hook, a send hook or both: `{ name: "redact-cards", run: redactCardNumbers }`.
 */
export const redactCardNumbers = (context: { readonly parts: ReadonlyArray<MessagePart> }): HookResult => {
  let changed = false
  const redact = (text: string) => {
    const after = redactCardNumbersInText(text)
    if (after !== text) changed = true
    return after
  }
  const parts = context.parts.map((part): MessagePart => {
    switch (part._tag) {
      case "text":
        return { ...part, text: redact(part.text) }
      case "html":
        return { ...part, html: redact(part.html) }
      case "voice":
        return part.transcript === undefined ? part : { ...part, transcript: redact(part.transcript) }
      default:
        return part
    }
  })
  return changed ? { _tag: "continue", parts } : undefined
}
