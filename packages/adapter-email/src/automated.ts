/** A raw header line as mailparser keeps it (`headerLines`): lower-case key, full line. */
export interface HeaderLine {
  readonly key: string
  readonly line: string
}

/** The unfolded values of every header named `key` (lower case). */
export const headerValues = (lines: ReadonlyArray<HeaderLine>, key: string): Array<string> =>
  lines
    .filter((l) => l.key === key)
    .map((l) =>
      l.line
        .slice(l.line.indexOf(":") + 1)
        .replace(/\r?\n[ \t]+/g, " ")
        .trim()
    )

/** Why a mail looks machine-sent; empty when a person wrote it. */
export type AutomatedReasons = ReadonlyArray<string>

const robotLocalPart = /^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)$/i

/**
 * Whether a mail came from a machine (RFC 3834 and the de-facto headers of the big senders).
 * Such mail is still stored, but never auto-acknowledged: answering a robot starts a loop.
 */
export const detectAutomated = (
  lines: ReadonlyArray<HeaderLine>,
  fromAddress: string | undefined,
  contentType: string | undefined
): AutomatedReasons => {
  const reasons: Array<string> = []
  const first = (key: string) => headerValues(lines, key)[0]
  const autoSubmitted = first("auto-submitted")
  if (autoSubmitted !== undefined && autoSubmitted.split(";")[0]!.trim().toLowerCase() !== "no")
    reasons.push(`Auto-Submitted: ${autoSubmitted}`)
  const precedence = first("precedence")?.toLowerCase()
  if (precedence && /^(bulk|list|junk|auto_reply)$/.test(precedence))
    reasons.push(`Precedence: ${precedence}`)
  for (const key of [
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "x-loop",
    "list-id",
    "list-unsubscribe"
  ])
    if (first(key) !== undefined) reasons.push(`${key} present`)
  const returnPath = headerValues(lines, "return-path")
  if (returnPath.length > 0 && returnPath.every((v) => /^<\s*>$/.test(v) || v === ""))
    reasons.push("empty Return-Path")
  if (fromAddress !== undefined && robotLocalPart.test(fromAddress.split("@")[0]!.split("+")[0]!))
    reasons.push(`robot sender ${fromAddress}`)
  if (contentType?.toLowerCase().startsWith("multipart/report")) reasons.push("multipart/report")
  return reasons
}
