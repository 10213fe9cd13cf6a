// Headers past this are not looked at: From sits near the top, and a mail without a blank
// line (all header) must not make this scan megabytes.
const maxHeaderBytes = 64 * 1024

const headerEnd = (raw: Uint8Array, limit: number) => {
  for (let i = 0; i < limit; i++)
    if (raw[i] === 10 && (raw[i + 1] === 10 || (raw[i + 1] === 13 && raw[i + 2] === 10))) return i
  return limit
}

/**
 * The sender of a raw mail as an ordering key: the address in its From header, lower-cased,
 * read from the bytes without parsing the mail (the watcher needs it before the mail is
 * handed on). Not an identity: a mail whose From cannot be read gets `""`, so all such mails
 * share one key and keep their order among themselves.
 */
export const senderKey = (raw: Uint8Array): string => {
  const limit = Math.min(raw.byteLength, maxHeaderBytes)
  const head = Buffer.from(raw.buffer, raw.byteOffset, headerEnd(raw, limit)).toString("latin1")
  const from = /^from[ \t]*:(.*(?:\r?\n[ \t].*)*)/im.exec(head)?.[1]
  if (from === undefined) return ""
  // Unfolded (RFC 5322 2.2.3); the address is in angle brackets when there is a display name.
  const value = from.replace(/\r?\n[ \t]+/g, " ")
  const address =
    /<\s*([^<>\s]+@[^<>\s]+)\s*>/.exec(value)?.[1] ?? /[^\s<>"(),;:]+@[^\s<>"(),;:]+/.exec(value)?.[0]
  return (address ?? value.trim()).toLowerCase()
}
