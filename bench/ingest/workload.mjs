// The ingest workload: a deterministic stream of inbound envelopes from new and returning
// customers on three channels, with re-deliveries of already-sent provider message ids.

/** Small seeded PRNG (mulberry32), so every process of a run builds the same envelopes. */
export const rng = (seed) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const channels = [
  { name: "email", weight: 0.5 },
  { name: "whatsapp", weight: 0.35 },
  { name: "webchat", weight: 0.15 }
]
const firstNames = ["Aino", "Eero", "Maria", "Jussi", "Leena", "Omar", "Sofia", "Ville", "Nora", "Pekka"]
const subjects = ["order", "invoice", "delivery", "refund", "login", "password", "address", "warranty"]

const pickChannel = (r) => {
  let x = r()
  for (const c of channels) {
    if (x < c.weight) return c.name
    x -= c.weight
  }
  return channels[0].name
}

// Addresses as providers send them; the hub normalizes them (emails lower-cased, E.164 phones).
const address = (channel, k) => {
  if (channel === "email") return k % 3 === 0 ? `Customer.${k}@Example.COM` : `customer.${k}@example.com`
  if (channel === "whatsapp")
    return `+358 40 ${String(1_000_000 + k).slice(0, 3)} ${String(1_000_000 + k).slice(3)}`
  return `visitor_${k.toString(36)}_${((k * 2654435761) >>> 0).toString(16)}`
}

/**
 * Builds `n` envelopes (duplicates included). `duplicateRate` of them re-deliver an earlier
 * provider message id with the same content, some right behind the original (both in flight at
 * once), most a while later. `newCustomerRate` of the distinct messages come from a first-time
 * sender; the rest from returning ones, recent customers more often. `prefix` keeps the ids of
 * the warm-up and the measured run apart.
 */
export const buildWorkload = ({ n, seed, prefix, duplicateRate = 0.05, newCustomerRate = 0.35 }) => {
  const r = rng(seed)
  const duplicates = Math.round(n * duplicateRate)
  const distinct = n - duplicates
  const customers = [] // { k, channel, name, last: provider id of their previous message }
  const base = Date.UTC(2025, 0, 1)
  const originals = []
  for (let i = 0; i < distinct; i++) {
    let customer
    if (customers.length === 0 || r() < newCustomerRate) {
      const k = customers.length
      customer = {
        k,
        channel: pickChannel(r),
        name: `${firstNames[k % firstNames.length]} ${k}`,
        last: undefined
      }
      customers.push(customer)
    } else {
      // Skewed towards recent customers: an ongoing conversation is more likely to continue.
      customer = customers[Math.floor(customers.length * (1 - r() ** 2.5)) % customers.length]
    }
    const channel = customer.channel
    const providerMessageId =
      channel === "email"
        ? `<${prefix}-${i}.${seed}@mail.example.com>`
        : channel === "whatsapp"
          ? `wamid.${prefix}-${i}`
          : `${prefix}-chat-${i}`
    const envelope = {
      channel,
      providerMessageId,
      from: { address: address(channel, customer.k), name: customer.name, verified: channel !== "webchat" },
      parts: [
        {
          _tag: "text",
          text: `Hi, about my ${subjects[i % subjects.length]} #${10_000 + i}: ${"could you please check it? ".repeat(1 + (i % 4))}`
        }
      ],
      sentAt: base + i * 1000,
      metadata: channel === "email" ? { subject: `Re: ${subjects[i % subjects.length]}` } : {}
    }
    // Email replies carry In-Reply-To of the customer's previous message.
    if (channel === "email" && customer.last !== undefined)
      envelope.threading = { inReplyTo: [customer.last] }
    customer.last = providerMessageId
    originals.push(envelope)
  }
  const keyed = originals.map((envelope, i) => ({ key: i, envelope }))
  for (let d = 0; d < duplicates; d++) {
    const source = Math.floor(r() * distinct)
    // A fifth arrive within the in-flight window of the original, the rest up to ~2000 later.
    const offset = r() < 0.2 ? 1 + Math.floor(r() * 32) : 1 + Math.floor(r() ** 2 * 2000)
    keyed.push({ key: source + offset + 0.5 + d / (duplicates * 4), envelope: originals[source] })
  }
  keyed.sort((a, b) => a.key - b.key)
  return {
    envelopes: keyed.map((x) => x.envelope),
    distinct,
    duplicates,
    customers: customers.length
  }
}
