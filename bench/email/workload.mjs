// The email backlog: N raw mails as customers' mail programs write them, seeded and identical
// for every target. Built with nodemailer's MailComposer (the MIME writer the adapter sends
// with): encoded-word headers, quoted-printable and base64 bodies, multipart/alternative and
// multipart/mixed with attachments.

const mulberry32 = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const firstNames = [
  "Anna",
  "Mikko",
  "Jüri",
  "Sofia",
  "Olli",
  "Émilie",
  "Lars",
  "Åsa",
  "Pedro",
  "Yuki",
  "Grace",
  "Tomás"
]
const lastNames = [
  "Virtanen",
  "Müller",
  "Korhonen",
  "Dubois",
  "Nieminen",
  "Søgaard",
  "García",
  "Tanaka",
  "Smith",
  "Öberg"
]
const domains = ["customer.example", "mail.example.org", "firma.example.fi", "example.net", "post.example.de"]
const topics = [
  [
    "Order {n} never arrived",
    "I ordered on Monday and the tracking page still says the parcel is being prepared."
  ],
  [
    "Invoice {n} is wrong",
    "The invoice lists two licences but we only have one seat. Could you send a corrected one?"
  ],
  [
    "Cannot log in",
    "Since this morning the login page says my password is wrong, the reset mail never comes."
  ],
  ["Päivitys ei onnistu", "Sovellus kaatuu päivityksen jälkeen heti käynnistyksessä. Mitä voin tehdä?"],
  ["Refund for order {n}", "The shoes were too small and I sent them back two weeks ago; no refund yet."],
  [
    "Question about delivery to Åland",
    "Do you deliver to Åland and are there customs fees on top of the price?"
  ]
]
const followUps = [
  "Thanks, but it still does not work. Attached is a screenshot.",
  "Any news on this? It has been three days.",
  "Ok, I tried that and now I get another error message.",
  "Kiitos nopeasta vastauksesta! Toimii nyt.",
  "Could you also check my other order from last month?",
  "Here is the receipt you asked for."
]
const signature = "\n\n-- \nSent from my phone\nPlease excuse typos"

const paragraphs = (random, count) =>
  Array.from({ length: count }, () =>
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris. ".repeat(
      1 + Math.floor(random() * 3)
    )
  ).join("\n\n")

const htmlOf = (text, name) =>
  `<!DOCTYPE html><html><head><meta charset="utf-8"><style>p{font-family:Arial}</style></head><body>${text
    .split("\n\n")
    .map(
      (p) =>
        `<p style="margin:0 0 8px">${p.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/\n/g, "<br>")}</p>`
    )
    .join(
      ""
    )}<div class="signature"><b>${name}</b><br><a href="https://example.com/profile" onclick="track()">My profile</a><img src="https://tracker.example/pixel.gif" width="1" height="1"></div><script>alert(1)</script></body></html>`

const quote = (text) =>
  text
    .split("\n")
    .map((l) => `> ${l}`)
    .join("\n")

const bytes = (random, size) => {
  const out = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) out[i] = (random() * 256) | 0
  return out
}

/**
 * Builds the backlog: `n` mails from about n/5 senders (recent senders write again more
 * often), so threads form. A sender's first mail opens a thread; later ones reply to their
 * previous mail (In-Reply-To, References chain, quoted text). Mix: ~50% plain text, ~35% text
 * + html alternative (with styles, scripts and tracking pixels for the sanitizer), ~12% with
 * 1-2 attachments (4-120 KB), ~3% newsletters (List-Id, Precedence: bulk). About 10% of a
 * returning sender's mails write the address in other letter case.
 *
 * Returns the raw mails in delivery order and what a correct ingest must end with: every
 * Message-ID once, and one thread per sender address (case-insensitive).
 */
export const buildEmailWorkload = async ({ n, seed, MailComposer }) => {
  const random = mulberry32(seed)
  const pick = (items) => items[Math.floor(random() * items.length)]
  const senderCount = Math.max(1, Math.round(n / 5))
  const senders = []
  const newsletters = Array.from({ length: 4 }, (_, i) => ({
    name: `Example News ${i + 1}`,
    address: `news${i + 1}@lists.example.com`,
    newsletter: true,
    sent: []
  }))
  const mails = []
  const threadOf = new Map()
  const base = Date.UTC(2026, 0, 5, 8, 0, 0)
  for (let i = 0; i < n; i++) {
    const kind = random()
    let sender
    if (kind < 0.03) sender = pick(newsletters)
    else if (senders.length === 0 || (senders.length < senderCount && random() < 0.35)) {
      const first = pick(firstNames)
      const last = pick(lastNames)
      const local = `${first}.${last}.${senders.length}`
        .normalize("NFD")
        .replace(/[^\w.]/g, "")
        .toLowerCase()
      sender = { name: `${first} ${last}`, address: `${local}@${pick(domains)}`, sent: [] }
      senders.push(sender)
    } else sender = senders[senders.length - 1 - Math.floor(senders.length * random() ** 3)]
    const messageId = `m${i}.${seed}.${Math.floor(random() * 1e9).toString(36)}@${sender.address.split("@")[1]}`
    const previous = sender.sent.at(-1)
    const topic = pick(topics)
    const orderNo = String(10000 + Math.floor(random() * 90000))
    const subject = sender.newsletter
      ? `Weekly digest ${i}`
      : previous
        ? `Re: ${previous.subject.replace(/^Re: /, "")}`
        : topic[0].replace("{n}", orderNo)
    const body = sender.newsletter
      ? paragraphs(random, 4)
      : `${previous ? pick(followUps) : topic[1].replace("{n}", orderNo)}\n\n${paragraphs(random, 1 + Math.floor(random() * 2))}${signature}`
    // A reply quotes what the customer wrote last time (not the whole chain, as mail programs
    // that trim quotes do), so bodies stay a realistic size.
    const text = previous
      ? `${body}\n\nOn ${new Date(previous.date).toUTCString()}, ${sender.name} wrote:\n${quote(previous.body)}`
      : body
    const shape = random()
    const html = sender.newsletter || shape < 0.35 ? htmlOf(text, sender.name) : undefined
    const attachments =
      !sender.newsletter && shape > 0.88
        ? Array.from({ length: 1 + Math.floor(random() * 2) }, (_, k) => {
            const ext = pick(["pdf", "png", "jpg", "txt"])
            const size = 4096 + Math.floor(random() * 116 * 1024)
            return {
              filename: `${pick(["receipt", "screenshot", "kuitti", "Rechnung"])}-${k + 1}.${ext}`,
              contentType:
                ext === "pdf"
                  ? "application/pdf"
                  : ext === "txt"
                    ? "text/plain"
                    : `image/${ext === "jpg" ? "jpeg" : ext}`,
              content: ext === "txt" ? Buffer.from(paragraphs(random, 20)) : bytes(random, size)
            }
          })
        : []
    const address =
      !sender.newsletter && previous && random() < 0.1 ? sender.address.toUpperCase() : sender.address
    const date = base + i * 37_000
    const references = [...(previous?.references ?? []), ...(previous ? [previous.messageId] : [])].slice(-10)
    const headers = sender.newsletter
      ? { "List-Id": `<${sender.address.split("@")[0]}.lists.example.com>`, Precedence: "bulk" }
      : {}
    const raw = await new MailComposer({
      from: { name: sender.name, address },
      to: "Support <support@example.com>",
      subject,
      date: new Date(date),
      messageId: `<${messageId}>`,
      ...(previous
        ? { inReplyTo: `<${previous.messageId}>`, references: references.map((r) => `<${r}>`) }
        : {}),
      text,
      ...(html ? { html } : {}),
      ...(attachments.length > 0 ? { attachments } : {}),
      headers
    })
      .compile()
      .build()
    sender.sent.push({ messageId, subject, body, date, references })
    threadOf.set(messageId, sender.address.toLowerCase())
    mails.push(raw)
  }
  return {
    mails,
    /** Bare Message-ID -> the sender (lower case) whose one thread it must land in. */
    threadOf,
    threads: new Set(threadOf.values()).size,
    bytes: mails.reduce((sum, m) => sum + m.length, 0)
  }
}
