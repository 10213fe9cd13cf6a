/** The running SLA clock of a conversation as `hub.sla.expectedReply` reports it. */
export interface ExpectedAnswer {
  readonly dueAt?: Date | undefined
  readonly paused: boolean
  readonly breached: boolean
}

const minute = 60_000

/**
 * The default sentence for the greeting: a relative time ("within about 2 hours") rather than a
 * clock time, which would need the caller's time zone. Nothing is promised for a paused or
 * breached clock: a time already past is no promise.
 */
export const expectedAnswerSentence = (expected: ExpectedAnswer, now: Date): string | undefined => {
  if (expected.paused || expected.breached || expected.dueAt === undefined) return undefined
  const left = expected.dueAt.getTime() - now.getTime()
  if (left <= 0) return undefined
  const minutes = Math.max(1, Math.ceil(left / minute))
  if (minutes < 60) return `We expect to answer you within ${minutes} minute${minutes === 1 ? "" : "s"}.`
  const hours = Math.ceil(minutes / 60)
  if (hours < 48) return `We expect to answer you within about ${hours} hour${hours === 1 ? "" : "s"}.`
  return `We expect to answer you within about ${Math.ceil(hours / 24)} days.`
}
