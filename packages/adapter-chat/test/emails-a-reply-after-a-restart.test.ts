import { mkdtemp, rm } from "node:fs/promises"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createHub, type DialogiHub } from "@dialogi/core"
import { afterEach, describe, expect, it, vi } from "vitest"
import { createEmailAdapter, memoryAttachmentStore } from "../../adapter-email/src/index.js"
import { plainSmtp, startSmtpRecorder } from "../../adapter-email/test/emailTestKit.js"
import { pgliteStore } from "../../store-postgres/src/index.js"
import {
  createChatAdapter,
  hubHistory,
  hubOfflineEmail,
  type OfflineOutcome,
  signIdentity
} from "../src/index.js"
import { clientId, greet, secret } from "./chatHarness.js"

// Long enough that the first process is surely gone before the check is due.
const afterMs = 4_000

/** One process of the app on a PGlite data directory: hub, chat (offline email on), email, http. */
const startProcess = async (dataDir: string, smtpPort: number, outcomes: OfflineOutcome[]) => {
  const store = await pgliteStore({ dataDir })
  let hub: DialogiHub | undefined
  const chat = createChatAdapter({
    secret,
    history: hubHistory(() => hub!),
    offline: hubOfflineEmail(() => hub!, { store, afterMs, onOutcome: (o) => outcomes.push(o) })
  })
  const email = createEmailAdapter({
    address: "support@example.com",
    threadingSecret: "email-threading-secret-0123456789",
    smtp: plainSmtp(smtpPort),
    attachments: { store: memoryAttachmentStore() }
  })
  hub = await createHub({ store, adapters: [chat, email], sendRetryDelayMs: 20, log: () => undefined })
  const server: Server = createServer((_req, res) => res.writeHead(404).end())
  chat.attach(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const openHub = hub
  return {
    hub: openHub,
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/chat`,
    close: async () => {
      await openHub.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe("the offline email check", () => {
  it("is a durable job: a restart between the reply and the check still emails the reply once", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "dialogi-chat-offline-"))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    const smtp = await startSmtpRecorder()
    cleanups.push(() => smtp.close())
    const outcomes: OfflineOutcome[] = []

    const first = await startProcess(dataDir, smtp.port, outcomes)
    const anna = { userId: "42", email: "anna@customer.example" }
    const { client } = await greet(first.url, {
      identity: { ...anna, signature: signIdentity(secret, anna) }
    })
    client.send({ type: "message", id: clientId(), text: "Call me back?" })
    const ack = await client.next("ack")
    await client.close()
    const reply = await first.hub.reply(ack.conversationId, "We will call at three.")
    // Sent means the chat's send ran, and with it the check was scheduled.
    await vi.waitFor(
      async () =>
        expect(
          (await first.hub.thread(ack.conversationId)).messages.find((m) => m.id === reply.id)?.status._tag
        ).toBe("sent"),
      { timeout: 10_000 }
    )
    await first.close()
    expect(outcomes).toEqual([])
    // Down past the due time: the next process finds the check overdue as it starts (it may
    // claim it before its hub is handed out, which retries it a second later).
    await new Promise((resolve) => setTimeout(resolve, afterMs))

    const second = await startProcess(dataDir, smtp.port, outcomes)
    cleanups.push(() => second.close())
    await vi.waitFor(() => expect(outcomes).toHaveLength(1), { timeout: 30_000, interval: 200 })
    expect(outcomes[0]).toMatchObject({ _tag: "emailed", messageId: reply.id })
    const mails = await smtp.waitFor(1, 15_000)
    expect(mails).toHaveLength(1)
    expect(mails[0]!.to).toEqual(["anna@customer.example"])
    expect(mails[0]!.raw).toContain("We will call at three.")
  })
})
