import type { Statement } from "./SqlDriver.js"

// An E'' literal reads the same whatever standard_conforming_strings says.
const quote = (text: string) => `E'${text.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`

const scalarText = (value: unknown): string => {
  if (typeof value === "string") return value
  if (typeof value === "number" || typeof value === "bigint") {
    if (typeof value === "number" && !Number.isFinite(value))
      throw new TypeError(`cannot write ${value} as an SQL literal`)
    return String(value)
  }
  if (typeof value === "boolean") return value ? "true" : "false"
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError("cannot write an invalid Date as an SQL literal")
    return value.toISOString()
  }
  if (value instanceof Uint8Array) throw new TypeError("binary parameters cannot be written as SQL literals")
  return JSON.stringify(value)
}

// Array elements are always double-quoted, so commas, braces, blanks and the word NULL in a
// string stay data; only a JavaScript null becomes SQL NULL.
const arrayText = (items: ReadonlyArray<unknown>): string =>
  `{${items
    .map((item) =>
      item === null || item === undefined
        ? "NULL"
        : Array.isArray(item)
          ? arrayText(item)
          : `"${scalarText(item).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`
    )
    .join(",")}}`

/**
 * A parameter value as an SQL literal, as `pg` would send it as a parameter: strings as they
 * are, dates as ISO instants, arrays as array literals, other objects as JSON. The literal has
 * no type of its own, so the statement must cast every parameter it is used in.
 */
export const sqlLiteral = (value: unknown): string =>
  value === null || value === undefined
    ? "NULL"
    : quote(Array.isArray(value) ? arrayText(value) : scalarText(value))

/**
 * A statement's text with its parameters written in, for the simple protocol, which takes no
 * parameters but runs several statements in one round trip. Only for statements marked
 * `inline` (every `$n` cast, none inside a string literal or comment).
 */
export const inlineStatement = (statement: Statement, params: ReadonlyArray<unknown>): string => {
  if (statement.inline !== true)
    throw new TypeError(`statement ${statement.name ?? statement.text} is not inlinable`)
  return statement.text.replace(/\$(\d+)/g, (_, n: string) => {
    const index = Number(n) - 1
    if (index >= params.length) throw new RangeError(`statement ${statement.name} has no parameter $${n}`)
    return sqlLiteral(params[index])
  })
}
