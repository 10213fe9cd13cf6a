// The quickstart: one customer writes by email, then from the web chat signed in with the
// same email address; dialogi keeps ONE conversation, an agent answers, and we print the
// unified thread and the event log. Storage is embedded PGlite: no server needed.
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createHub } from "@dialogi/core"
import { pgliteStore } from "@dialogi/store-postgres"
import { consoleChannel } from "./consoleChannel.ts"

const print = (line: string) => process.stdout.write(`${line}\n`)
const dataDir = process.env.DIALOGI_DATA_DIR ?? (await mkdtemp(join(tmpdir(), "dialogi-quickstart-")))

const hub = await createHub({
  store: await pgliteStore({ dataDir }),
  adapters: [consoleChannel("email", print), consoleChannel("chat", print)],
  sendRetryDelayMs: 100
})

print(`dialogi quickstart (PGlite data in ${dataDir})\n`)
// Anna wrote a few minutes ago: first the email, a minute later the chat message.
const start = Date.now() - 5 * 60_000
const first = await hub.ingest({
  channel: "email",
  providerMessageId: "<CAF1234@mail.example.com>",
  from: { address: "Anna Virtanen <Anna.Virtanen@example.com>", name: "Anna Virtanen" },
  parts: [{ _tag: "text", text: "Hi, my order 1042 has not arrived. Can you check?" }],
  sentAt: start
})
// The mail provider retries the same delivery: it is stored once.
await hub.ingest({
  channel: "email",
  providerMessageId: "<CAF1234@mail.example.com>",
  from: { address: "anna.virtanen@example.com" },
  parts: [{ _tag: "text", text: "Hi, my order 1042 has not arrived. Can you check?" }],
  sentAt: start
})
// Later she opens the web chat while signed in: the host vouches for her email (verified).
await hub.ingest({
  channel: "chat",
  providerMessageId: "chat-msg-1",
  from: { address: "visitor-8f3a", name: "Anna", verified: true },
  claims: [{ channel: "email", address: "anna.virtanen@example.com", verified: true }],
  parts: [{ _tag: "text", text: "Hello again, any news on order 1042?" }],
  sentAt: start + 60_000
})

await hub.assign(first.conversationId, { _tag: "agent", id: "mikko" })
await hub.note(first.conversationId, "Carrier confirms the parcel is at the pickup point.", {
  _tag: "agent",
  id: "mikko"
})
const reply = await hub.reply(
  first.conversationId,
  "Your parcel is waiting at the pickup point. Sorry for the wait!",
  {
    author: { _tag: "agent", id: "mikko" }
  }
)
print("Sending the agent's reply on the customer's latest channel:")
for (let i = 0; i < 100; i++) {
  const { messages } = await hub.thread(first.conversationId)
  if (messages.find((m) => m.id === reply.id)?.status._tag === "sent") break
  await new Promise((resolve) => setTimeout(resolve, 50))
}

const thread = await hub.thread(first.conversationId)
print(`\nOne thread for ${thread.contact.name ?? "the customer"} (${thread.conversation.id}):`)
print(`  identities: ${thread.contact.identities.map((i) => `${i.channel}:${i.address}`).join(", ")}`)
for (const message of thread.messages) {
  const text = message.parts.map((p) => (p._tag === "text" ? p.text : `[${p._tag}]`)).join(" ")
  const who = message.author._tag === "contact" ? "customer" : `${message.author._tag}`
  print(
    `  [${message.channel.padEnd(5)}] ${who.padEnd(8)} ${message.visibility === "internal" ? "(note) " : ""}${text}  <${message.status._tag}>`
  )
}

print("\nEvent log (a CRM consumes this from any cursor):")
for (const event of await hub.events.after(0)) print(`  #${event.seq} ${event.body._tag}`)

await hub.close()
