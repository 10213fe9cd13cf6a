import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import {
  makeThreadSigner,
  type ParsedEmail,
  parseEmail,
  resolveThread,
  type ThreadResolution,
  toThreadingHint
} from "../src/index.js"

/*
 * The corpus in fixtures/threading/ is mail as Gmail, Outlook (Microsoft 365), Apple Mail and
 * Thunderbird write it (their header order, References chains, quoting and forward styles) in
 * answer to two support mails we sent Anna in conversation `conversation`. Our tokens in them
 * were signed with `secret` for Anna's address, exactly as send.ts signs them.
 */
const secret = "corpus-threading-secret"
const conversation = "cv_0corpus00000000000000001"
const ourFirst = `dlg.msg_0out0000000000000000001.${conversation}.49bwjsy656mxtfp9@example.com`
const ourSecond = `dlg.msg_0out0000000000000000002.${conversation}.vp43db6tsmb6xwsy@example.com`
const replyAddress = `support+${conversation}.qxqe31802fvjne58@example.com`
const marker = `[ref:${conversation}.m5rprnv2cdsy0s7a]`
const annaGmailFirst = "CAJx1anna0001=Qz7pK2hVb9sWfYt@mail.gmail.com"
const keys = { signer: makeThreadSigner(secret), mailboxes: ["support@example.com"] }

const load = async (name: string) => {
  const parsed = await parseEmail(
    new Uint8Array(readFileSync(new URL(`./fixtures/threading/${name}`, import.meta.url)))
  )
  const resolution = resolveThread(parsed.thread, parsed.fullText, parsed.from.address, keys)
  return { parsed, resolution }
}

/** Quote stripping: only the new words are shown, the quoted mail stays in the full text. */
const expectQuoteStripped = (parsed: ParsedEmail, shown: string, quoted: ReadonlyArray<string>) => {
  expect(parsed.displayText).toBe(shown)
  for (const line of quoted) {
    expect(parsed.displayText).not.toContain(line)
    expect(parsed.fullText).toContain(line)
  }
}

/** A forward from someone else: no token of Anna's names a thread, each refused one is recorded. */
const expectNotJoined = (resolution: ThreadResolution, refused: ReadonlyArray<string>) => {
  expect(["references", "contact-open"]).toContain(resolution.match.kind)
  expect(toThreadingHint(resolution)?.conversationId).toBeUndefined()
  expect(resolution.rejected.map((r) => r.source).sort()).toEqual([...refused].sort())
  for (const r of resolution.rejected) expect(r.why).toBe("signature does not match this sender")
}

describe("replies from real mail programs join the thread; their quotes are hidden", () => {
  it("Gmail: reply to our Reply-To address, References chain, 'On ... wrote:' wrapped over two lines", async () => {
    const { parsed, resolution } = await load("gmail-reply.eml")
    expect(parsed.messageId).toBe("CAJx1anna0002=Lm4XcR8vNe3TqUy@mail.gmail.com")
    expect(resolution.match).toEqual({
      kind: "reply-token",
      conversationId: conversation,
      reason: `reply address ${replyAddress}`
    })
    expect(toThreadingHint(resolution)).toEqual({
      conversationId: conversation,
      inReplyTo: [annaGmailFirst, ourFirst]
    })
    expectQuoteStripped(
      parsed,
      "Thanks, the parcel number is 00340434161094042557. It was sent to my old\naddress, could you check that?\n\nAnna",
      ["> Hello Anna,", "wrote:", marker]
    )
    // The original html (kept as an attachment) still has Gmail's quote container.
    expect(parsed.originalHtml).toContain('class="gmail_quote gmail_quote_container"')
  })

  it("Outlook: RE: with In-Reply-To/References and a '-----Original Message-----' block", async () => {
    const { parsed, resolution } = await load("outlook-reply.eml")
    expect(resolution.match).toMatchObject({ kind: "reply-token", conversationId: conversation })
    expect(resolution.inReplyTo).toEqual([ourFirst])
    // "Best regards / Anna Virtanen" goes with the signature.
    expectQuoteStripped(parsed, "Hi,\n\nthe parcel number is 00340434161094042557.", [
      "-----Original Message-----",
      "Sent: Monday, March 3, 2025 2:02 PM",
      "Best regards",
      marker
    ])
    // Outlook's own html keeps the hidden marker in white 1pt text; the sanitizer drops styles.
    expect(parsed.html).not.toMatch(/<style|color:white/)
  })

  it("Outlook: Thread-Index only (no References, plain To): joins by the marker in the quoted original", async () => {
    const { parsed, resolution } = await load("outlook-reply-thread-index-only.eml")
    expect(parsed.thread).toEqual({ inReplyTo: [], references: [], recipients: ["support@example.com"] })
    expect(resolution.match).toEqual({
      kind: "body-marker",
      conversationId: conversation,
      reason: "hidden marker in the quoted text"
    })
    expectQuoteStripped(
      parsed,
      "Hello again,\n\nthe parcel is back at the depot in Järvenpää, can you resend it?\n\nAnna",
      ["________________________________", "From: Acme Support <support@example.com>", marker]
    )
  })

  it("Outlook: a new mail with the same Thread-Topic is not threaded by Thread-Index (sender's open conversation)", async () => {
    const { parsed, resolution } = await load("outlook-new-mail-same-topic.eml")
    expect(resolution).toEqual({
      match: { kind: "contact-open", reason: "no threading headers" },
      inReplyTo: [],
      rejected: []
    })
    expect(toThreadingHint(resolution)).toBeUndefined()
    expect(parsed.displayText).toBe("Hi, is there any news about my order 1234?\n\nAnna")
  })

  it("Apple Mail: reply to our second mail, quote as '> On ..., at ..., ... wrote:' and blockquote type=cite", async () => {
    const { parsed, resolution } = await load("apple-mail-reply.eml")
    expect(parsed.messageId).toBe("5F0A1B2C-3D4E-4F60-8A9B-C0D1E2F3A4B5@customer.example")
    expect(resolution.match).toMatchObject({ kind: "reply-token", conversationId: conversation })
    // In-Reply-To names our second mail: it is the direct parent and goes last.
    expect(resolution.inReplyTo).toEqual([annaGmailFirst, ourFirst, ourSecond])
    expectQuoteStripped(parsed, "Perfect, thank you! I’ll be home on Friday.", [
      "Sent from my Mac",
      "> On 3 Mar 2025, at 16:40, Acme Support <support@example.com> wrote:",
      marker
    ])
    // The sanitized html keeps the quote as a blockquote; the display text is what lists show.
    expect(parsed.html).toContain("<blockquote>")
  })

  it("Thunderbird: format=flowed reply with 'On 3/3/25 14:02, Acme Support wrote:'", async () => {
    const { parsed, resolution } = await load("thunderbird-reply.eml")
    expect(resolution.match).toMatchObject({ kind: "reply-token", conversationId: conversation })
    expect(resolution.inReplyTo).toEqual([annaGmailFirst, ourFirst])
    expectQuoteStripped(parsed, 'Hello,\n\nthe tracking page still says "in transit" since Friday.', [
      "On 3/3/25 14:02, Acme Support wrote:",
      "> Hello Anna,",
      marker
    ])
  })

  it("without the Reply-To address, the same replies join by our Message-ID in In-Reply-To/References", async () => {
    for (const name of [
      "gmail-reply.eml",
      "outlook-reply.eml",
      "apple-mail-reply.eml",
      "thunderbird-reply.eml"
    ]) {
      const { parsed } = await load(name)
      const plain = { ...parsed.thread, recipients: ["support@example.com"] }
      const resolution = resolveThread(plain, parsed.fullText, parsed.from.address, keys)
      expect(resolution.match, name).toMatchObject({ kind: "our-message-id", conversationId: conversation })
    }
  })
})

describe("forwards of our mail by someone else never join Anna's thread", () => {
  it("Gmail: a colleague's forward whose References carry our Message-ID", async () => {
    const { parsed, resolution } = await load("gmail-forward-from-colleague.eml")
    expect(parsed.thread.references).toContain(ourFirst)
    expectNotJoined(resolution, ["message-id", "body-marker"])
    // Anna's own Gmail ids stay hints that core follows only within Ben's conversations.
    expect(resolution.match.kind).toBe("references")
    expect(toThreadingHint(resolution)).toEqual({
      inReplyTo: [annaGmailFirst, "CAJx1anna0003=Wd2FgH7kLp0ZxCv@mail.gmail.com"]
    })
    // A forward's content is the point of it: shown, minus our marker.
    expect(parsed.displayText).toMatch(/^Hi, I handle the orders for Anna's team now\./)
    expect(parsed.displayText).toContain("---------- Forwarded message ---------")
    expect(parsed.displayText).toContain("we are sorry your order has not arrived.")
    expect(parsed.displayText).not.toContain("[ref:")
    expect(parsed.fullText).toContain(marker)
  })

  it("Apple Mail: 'Begin forwarded message:' from the customer's partner, References to our mail", async () => {
    const { parsed, resolution } = await load("apple-mail-forward-from-partner.eml")
    expectNotJoined(resolution, ["message-id", "body-marker"])
    expect(resolution).toMatchObject({ match: { kind: "contact-open" }, inReplyTo: [] })
    expectQuoteStripped(parsed, "I am Anna’s husband. Can the parcel go to my office instead?\n\nMikko", [
      "> Begin forwarded message:",
      marker
    ])
  })

  it("Thunderbird: inline '-------- Forwarded Message --------' with our Reply-To in the body", async () => {
    const { parsed, resolution } = await load("thunderbird-forward-from-other-sender.eml")
    // The reply address in the forwarded header block is body text, not a recipient.
    expect(parsed.thread.recipients).toEqual(["support@example.com"])
    expectNotJoined(resolution, ["body-marker"])
    expect(resolution.match).toEqual({ kind: "contact-open", reason: "only forged or foreign tokens" })
    expect(parsed.displayText).toMatch(/^Guten Tag,\n\na friend forwarded me this\./)
    expect(parsed.displayText).toContain("-------- Forwarded Message --------")
    expect(parsed.displayText).not.toContain("[ref:")
  })
})
