import { Either, Schema } from "effect"
import type { Holiday } from "./BusinessCalendar.js"
import { instantOfWall, isKnownTimeZone, offsetAt } from "./ZoneOffsets.js"

const DAY_MS = 86_400_000

// A holiday event spanning more days than this is a mistake in the file, not a holiday.
const MAX_EVENT_DAYS = 366

/** An iCalendar file could not be read as holidays; `line` is the 1-based line where it went wrong. */
export class InvalidICalendar extends Schema.TaggedError<InvalidICalendar>("@dialogi/InvalidICalendar")(
  "InvalidICalendar",
  { message: Schema.String, line: Schema.optional(Schema.Number) }
) {}

interface ContentLine {
  readonly line: number
  readonly name: string
  readonly params: ReadonlyMap<string, string>
  readonly value: string
}

class Failure {
  constructor(
    readonly message: string,
    readonly line?: number
  ) {}
}

// RFC 5545 3.1: a CRLF followed by one space or tab continues the previous line. Bare LF is
// accepted too, since files pass through editors and git.
const unfold = (text: string): Array<{ line: number; text: string }> => {
  const lines: Array<{ line: number; text: string }> = []
  text.split(/\r\n|\n|\r/).forEach((raw, index) => {
    const last = lines[lines.length - 1]
    if ((raw.startsWith(" ") || raw.startsWith("\t")) && last !== undefined) last.text += raw.slice(1)
    else if (raw.length > 0) lines.push({ line: index + 1, text: raw })
  })
  return lines
}

// RFC 5545 3.1: name *(";" param) ":" value, where a param value may be quoted and then
// contain ";" and ":".
const parseLine = ({ line, text }: { line: number; text: string }): ContentLine => {
  const head = /^[A-Za-z0-9-]+/.exec(text)
  if (head === null) throw new Failure(`not a content line: "${text.slice(0, 40)}"`, line)
  const params = new Map<string, string>()
  let at = head[0].length
  while (text[at] === ";") {
    const param = /^;([A-Za-z0-9-]+)=("[^"]*"|[^";:,]*)(?:,(?:"[^"]*"|[^";:,]*))*/.exec(text.slice(at))
    if (param === null) throw new Failure(`malformed parameter in "${text.slice(0, 40)}"`, line)
    params.set(param[1]!.toUpperCase(), param[2]!.replace(/^"|"$/g, ""))
    at += param[0].length
  }
  if (text[at] !== ":") throw new Failure(`missing ":" in "${text.slice(0, 40)}"`, line)
  return { line, name: head[0].toUpperCase(), params, value: text.slice(at + 1) }
}

// RFC 5545 3.3.11 TEXT escapes.
const unescapeText = (value: string): string =>
  value.replace(/\\([\\;,nN])/g, (_, c: string) => (c === "n" || c === "N" ? "\n" : c))

const isoOfDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10)

const dayIn = (zone: string, instant: number): number =>
  Math.floor((instant + offsetAt(zone, instant)) / DAY_MS)

const DATE = /^(\d{4})(\d{2})(\d{2})$/
const DATE_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$/

// A DTSTART/DTEND-like property as a local date of `zone` (days since 1970-01-01), and for
// date-times the instant, so that an end at midnight excludes the day it starts.
const readDate = (property: ContentLine, zone: string): { day: number; instant?: number } => {
  const value = property.value.trim()
  const date = DATE.exec(value)
  if (date !== null) {
    const ms = Date.UTC(+date[1]!, +date[2]! - 1, +date[3]!)
    if (new Date(ms).getUTCDate() !== +date[3]!) throw new Failure(`no such date ${value}`, property.line)
    return { day: ms / DAY_MS }
  }
  const m = DATE_TIME.exec(value)
  if (m === null)
    throw new Failure(`${property.name} "${value}" is neither a DATE nor a DATE-TIME`, property.line)
  const wall = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)
  if (Number.isNaN(wall) || +m[2]! > 12 || +m[4]! > 23 || +m[5]! > 59 || +m[6]! > 60) {
    throw new Failure(`no such date-time ${value}`, property.line)
  }
  const tzid = property.params.get("TZID")
  // Floating times, and TZIDs that only a VTIMEZONE in the file defines (Outlook's "W. Europe
  // Standard Time"), are read as wall-clock in the calendar's zone: the date is what matters.
  const instant =
    m[7] === "Z"
      ? wall
      : tzid !== undefined && isKnownTimeZone(tzid)
        ? instantOfWall(tzid, wall)
        : instantOfWall(zone, wall)
  return { day: dayIn(zone, instant), instant }
}

const FIXED_DATE_RULE_PARTS = new Set(["FREQ", "INTERVAL", "COUNT", "UNTIL", "BYMONTH", "BYMONTHDAY", "WKST"])

interface YearlyRule {
  readonly count?: number
  readonly untilDay?: number
}

// Only rules that repeat the same month and day every year: anything else (BYDAY for "the
// fourth Thursday") would need a full RRULE engine.
const readRule = (property: ContentLine, startDay: number, zone: string): YearlyRule => {
  const parts = new Map(
    property.value.split(";").map((part) => {
      const [key, value] = part.split("=")
      return [key!.toUpperCase(), value ?? ""] as const
    })
  )
  const unsupported = (why: string) =>
    new Failure(
      `RRULE "${property.value}" is not supported: ${why} (only fixed-date FREQ=YEARLY)`,
      property.line
    )
  if (parts.get("FREQ") !== "YEARLY") throw unsupported("FREQ is not YEARLY")
  for (const key of parts.keys()) if (!FIXED_DATE_RULE_PARTS.has(key)) throw unsupported(`${key}`)
  if ((parts.get("INTERVAL") ?? "1") !== "1") throw unsupported("INTERVAL")
  const start = new Date(startDay * DAY_MS)
  if (parts.has("BYMONTH") && Number(parts.get("BYMONTH")) !== start.getUTCMonth() + 1)
    throw unsupported("BYMONTH")
  if (parts.has("BYMONTHDAY") && Number(parts.get("BYMONTHDAY")) !== start.getUTCDate()) {
    throw unsupported("BYMONTHDAY")
  }
  const count = parts.get("COUNT")
  if (count !== undefined) {
    if (!/^[1-9]\d{0,2}$/.test(count)) throw unsupported("COUNT")
    return { count: Number(count) }
  }
  const until = parts.get("UNTIL")
  if (until !== undefined) return { untilDay: readDate({ ...property, value: until }, zone).day }
  return {}
}

const addYears = (day: number, years: number): number | undefined => {
  const date = new Date(day * DAY_MS)
  const moved = new Date(Date.UTC(date.getUTCFullYear() + years, date.getUTCMonth(), date.getUTCDate()))
  // Feb 29 exists only in leap years; RFC 5545 skips invalid dates rather than rolling over.
  return moved.getUTCDate() === date.getUTCDate() ? moved.getTime() / DAY_MS : undefined
}

interface Collected {
  readonly dated: Map<number, string | undefined>
  readonly yearly: Map<string, { day: number; name: string | undefined }>
}

const collectEvent = (
  properties: ReadonlyArray<ContentLine>,
  beginLine: number,
  zone: string,
  into: Collected
) => {
  const find = (name: string) => properties.find((p) => p.name === name)
  if (find("STATUS")?.value.trim().toUpperCase() === "CANCELLED") return
  const dtstart = find("DTSTART")
  if (dtstart === undefined) throw new Failure("VEVENT without DTSTART", beginLine)
  if (find("RDATE") !== undefined || find("EXDATE") !== undefined) {
    throw new Failure("RDATE and EXDATE are not supported", find("RDATE")?.line ?? find("EXDATE")?.line)
  }
  const summary = find("SUMMARY")
  const name = summary === undefined ? undefined : unescapeText(summary.value).trim() || undefined
  const start = readDate(dtstart, zone)
  let lastDay = start.day
  const dtend = find("DTEND")
  const duration = find("DURATION")
  if (dtend !== undefined) {
    const end = readDate(dtend, zone)
    // Ends are exclusive (RFC 5545 3.6.1): a DATE end is the day after, a date-time end at
    // midnight does not touch the day it names.
    if (end.day < start.day) throw new Failure("DTEND is before DTSTART", dtend.line)
    // Some producers write DTEND = DTSTART for an all-day event: read it as that one day.
    lastDay = Math.max(start.day, end.instant === undefined ? end.day - 1 : dayIn(zone, end.instant - 1))
  } else if (duration !== undefined) {
    const weeksOrDays = /^P(?:(\d+)W|(\d+)D)$/.exec(duration.value.trim())
    if (weeksOrDays === null || start.instant !== undefined) {
      throw new Failure(
        `DURATION "${duration.value}" is not supported for holidays (use whole days)`,
        duration.line
      )
    }
    lastDay = start.day + Math.max(1, Number(weeksOrDays[1] ?? 0) * 7 + Number(weeksOrDays[2] ?? 0)) - 1
  }
  if (lastDay - start.day >= MAX_EVENT_DAYS) {
    throw new Failure(`event "${name ?? ""}" spans more than ${MAX_EVENT_DAYS} days`, dtstart.line)
  }
  const rrule = find("RRULE")
  const rule = rrule === undefined ? undefined : readRule(rrule, start.day, zone)
  const addDated = (day: number) => {
    const previous = into.dated.get(day)
    into.dated.set(
      day,
      previous === undefined || previous === name ? (name ?? previous) : `${previous} / ${name}`
    )
  }
  for (let day = start.day; day <= lastDay; day++) {
    if (rule === undefined) addDated(day)
    else if (rule.count === undefined && rule.untilDay === undefined) {
      const key = isoOfDay(day).slice(5)
      if (!into.yearly.has(key)) into.yearly.set(key, { day, name })
    } else {
      // COUNT counts occurrences, and a skipped 29 February is none (RFC 5545 3.3.10).
      for (let year = 0, made = 0; rule.count === undefined || made < rule.count; year++) {
        const occurrence = addYears(day, year)
        if (occurrence === undefined) continue
        if (rule.untilDay !== undefined && occurrence > rule.untilDay + (day - start.day)) break
        addDated(occurrence)
        made++
      }
    }
  }
}

/**
 * Reads the holidays of an iCalendar (.ics) text: every VEVENT closes its dates all day.
 * DATE events cover DTSTART up to the exclusive DTEND; date-time events (UTC, TZID or
 * floating) close the dates they touch in `timeZone`, the calendar's zone. SUMMARY becomes
 * the name. `RRULE:FREQ=YEARLY` for fixed-date holidays becomes a yearly holiday, or explicit
 * dates with COUNT/UNTIL; other rules, RDATE and EXDATE fail rather than import wrong days.
 * Cancelled events are skipped; the same date twice becomes one holiday with both names.
 */
export const holidaysFromICalendar = (
  text: string,
  timeZone: string
): Either.Either<ReadonlyArray<Holiday>, InvalidICalendar> => {
  try {
    if (!isKnownTimeZone(timeZone)) throw new Failure(`"${timeZone}" is not a time zone this runtime knows`)
    const unfolded = unfold(text.replace(/^\uFEFF/, ""))
    if (unfolded[0]?.text.trim().toUpperCase() !== "BEGIN:VCALENDAR") {
      throw new Failure("not an iCalendar file: it must start with BEGIN:VCALENDAR", unfolded[0]?.line ?? 1)
    }
    const lines = unfolded.map(parseLine)
    const collected: Collected = { dated: new Map(), yearly: new Map() }
    const stack: Array<string> = []
    let event: { begin: number; properties: Array<ContentLine> } | undefined
    for (const line of lines) {
      const component = line.value.trim().toUpperCase()
      if (line.name === "BEGIN") {
        stack.push(component)
        if (component === "VEVENT") event = { begin: line.line, properties: [] }
      } else if (line.name === "END") {
        if (stack.pop() !== component)
          throw new Failure(`END:${component} does not close the open component`, line.line)
        if (component === "VEVENT" && event !== undefined) {
          collectEvent(event.properties, event.begin, timeZone, collected)
          event = undefined
        }
        // Anything after the calendar's END is not part of it.
        if (stack.length === 0) break
      } else if (event !== undefined && stack[stack.length - 1] === "VEVENT") {
        // Only the event's own properties: a nested VALARM has a DTSTART-like TRIGGER of its own.
        event.properties.push(line)
      }
    }
    if (stack.length > 0) throw new Failure(`BEGIN:${stack[stack.length - 1]} is never closed`)
    const holidays: Array<Holiday> = []
    for (const [day, name] of [...collected.dated].sort((a, b) => a[0] - b[0])) {
      holidays.push(name === undefined ? { date: isoOfDay(day) } : { date: isoOfDay(day), name })
    }
    for (const { day, name } of collected.yearly.values()) {
      const date = isoOfDay(day)
      holidays.push(name === undefined ? { date, repeatsYearly: true } : { date, name, repeatsYearly: true })
    }
    return Either.right(holidays)
  } catch (error) {
    if (error instanceof Failure) {
      return Either.left(
        new InvalidICalendar(
          error.line === undefined
            ? { message: `[dialogi/sla] ${error.message}` }
            : { message: `[dialogi/sla] line ${error.line}: ${error.message}`, line: error.line }
        )
      )
    }
    throw error
  }
}
