import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { EmailParseError, parseEmail } from "../src/index.js"

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)))

describe("parseEmail", () => {
  it("decodes encoded headers and charsets, strips the quote for display and keeps the full text", async () => {
    const mail = await parseEmail(fixture("iso-8859-1-html-with-attachment.eml"))
    expect(mail.from).toEqual({ address: "juergen@kunde.example", name: "Jürgen Müller" })
    expect(mail.subject).toBe("Rückfrage zur Bestellung")
    expect(mail.displayText).toBe("Grüße, wo bleibt meine Bestellung?")
    expect(mail.fullText).toContain("> Wir prüfen das.")
    expect(mail.messageId).toBe("CAF=jm-1@mail.gmail.example")
  })

  it("sanitizes html for display and keeps the original", async () => {
    const mail = await parseEmail(fixture("iso-8859-1-html-with-attachment.eml"))
    expect(mail.html).toContain("Grüße")
    expect(mail.html).not.toMatch(/<script|onerror|javascript:/i)
    expect(mail.originalHtml).toContain("<script>")
  })

  it("hands over attachments with their type and bytes", async () => {
    const mail = await parseEmail(fixture("iso-8859-1-html-with-attachment.eml"))
    expect(mail.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ["rechnung.pdf", "application/pdf"],
      ["huge.bin", "application/octet-stream"]
    ])
    expect(Buffer.from(mail.attachments[0]!.content).subarray(0, 5).toString()).toBe("%PDF-")
  })

  it("gives mail without a Message-ID a stable artificial one", async () => {
    const a = await parseEmail(fixture("no-message-id.eml"))
    const b = await parseEmail(fixture("no-message-id.eml"))
    expect(a.syntheticMessageId).toBe(true)
    expect(a.messageId).toMatch(/^dlg-hash\.[0-9a-f]{32}@missing-message-id\.invalid$/)
    expect(b.messageId).toBe(a.messageId)
  })

  it("flags automated mail with the reasons (RFC 3834 and friends)", async () => {
    const oof = await parseEmail(fixture("outlook-out-of-office.eml"))
    expect(oof.automated).toEqual(["Auto-Submitted: auto-replied", "x-auto-response-suppress present"])
    const person = await parseEmail(fixture("iso-8859-1-html-with-attachment.eml"))
    expect(person.automated).toEqual([])
    const daemon = await parseEmail(fixture("mailer-daemon-bounce.eml"))
    expect(daemon.automated).toEqual(
      expect.arrayContaining(["robot sender MAILER-DAEMON@mx.customer.example", "multipart/report"])
    )
  })

  it("reads a delivery status notification", async () => {
    const dsn = await parseEmail(fixture("mailer-daemon-bounce.eml"))
    expect(dsn.bounce).toEqual({
      originalMessageId: "ORIGINAL_ID",
      action: "failed",
      status: "5.1.1",
      diagnostic: "550 5.1.1 <gone@customer.example>: Recipient address rejected: User unknown",
      recipient: "gone@customer.example"
    })
  })

  it("refuses mail without a sender, and mail over the size limit, with a clear error", async () => {
    await expect(parseEmail(fixture("no-from.eml"))).rejects.toThrow(EmailParseError)
    await expect(parseEmail(fixture("no-from.eml"))).rejects.toThrow(
      "[dialogi/email] cannot parse mail: no From address"
    )
    await expect(parseEmail(fixture("no-message-id.eml"), { maxMessageBytes: 10 })).rejects.toThrow(
      /exceeds 10/
    )
  })
})
