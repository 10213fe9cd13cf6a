import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { createHub, type DialogiHub, MemoryStore } from "@dialogi/core"
import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { createEmailAdapter, memoryAttachmentStore } from "../../adapter-email/src/index.js"
import {
  customerMail,
  header,
  plainSmtp,
  rawMailRequest,
  startSmtpRecorder
} from "../../adapter-email/test/emailTestKit.js"
import {
  createChatAdapter,
  hubHistory,
  hubOfflineEmail,
  type OfflineOutcome,
  signIdentity
} from "../src/index.js"
import { clientId, greet, secret, type TestClient } from "./chatHarness.js"

const mailSecret = "mail-webhook-secret-0123456789"

/** A hub with the chat adapter (offline email fallback on) and the email adapter on a real SMTP server. */
const startRig = async () => {
  const smtp = await startSmtpRecorder()
  const outcomes: OfflineOutcome[] = []
  const store = await Effect.runPromise(MemoryStore.makeMemoryStore())
  let hub: DialogiHub | undefined
  const chat = createChatAdapter({
    secret,
    history: hubHistory(() => hub!),
    offline: hubOfflineEmail(() => hub!, { store, afterMs: 100, onOutcome: (o) => outcomes.push(o) })
  })
  const email = createEmailAdapter({
    address: "support@example.com",
    threadingSecret: "email-threading-secret-0123456789",
    smtp: plainSmtp(smtp.port),
    webhookSecret: mailSecret,
    attachments: { store: memoryAttachmentStore() }
  })
  hub = await createHub({
    store,
    adapters: [chat, email],
    sendRetryDelayMs: 20,
    log: () => undefined
  })
  const server: Server = createServer((_req, res) => res.writeHead(404).end())
  chat.attach(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const openHub = hub
  return {
    hub: openHub,
    email,
    smtp,
    outcomes,
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/chat`,
    close: async () => {
      await openHub.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await smtp.close()
    }
  }
}

let rig: Awaited<ReturnType<typeof startRig>>
const clients: TestClient[] = []
beforeEach(async () => {
  rig = await startRig()
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await rig.close()
})

const anna = { userId: "42", email: "anna@customer.example", name: "Anna" }
const signedAnna = { ...anna, signature: signIdentity(secret, anna) }

const open = async (hello: Record<string, unknown>) => {
  const greeted = await greet(rig.url, hello)
  clients.push(greeted.client)
  return greeted
}

/** The visitor writes once and leaves; resolves with what a returning widget would remember. */
const writeAndLeave = async (hello: Record<string, unknown>, text: string) => {
  const { client, welcome } = await open(hello)
  client.send({ type: "message", id: clientId(), text })
  const ack = await client.next("ack")
  const binding = await client.next("conversation")
  const echo = await client.next("message")
  await client.close()
  return { welcome, conversationId: ack.conversationId, binding, cursor: echo.seq }
}

const outcomeOf = (messageId: string) =>
  vi.waitFor(
    () => {
      const outcome = rig.outcomes.find((o) => o.messageId === messageId)
      if (!outcome) throw new Error(`no offline outcome for ${messageId} yet`)
      return outcome
    },
    { timeout: 10_000 }
  )

describe("an agent reply to a visitor who left", () => {
  it("is emailed in the same thread when the host signed the visitor's email, and still shown on their next visit", async () => {
    const left = await writeAndLeave({ identity: signedAnna }, "Where is my order?")
    const reply = await rig.hub.reply(left.conversationId, "It ships tomorrow.")
    const outcome = await outcomeOf(reply.id)
    expect(outcome._tag).toBe("emailed")

    const [mail] = await rig.smtp.waitFor(1)
    expect(mail!.to).toEqual(["anna@customer.example"])
    expect(mail!.raw).toContain("It ships tomorrow.")
    // The copy is the hub's own email reply in the thread: the email adapter's signed
    // Message-ID, and a system author so the SLA clocks do not count it as a second answer.
    const thread = await rig.hub.thread(left.conversationId)
    const copy = thread.messages.find((m) => m.id === (outcome as { copyId: string }).copyId)!
    expect(copy).toMatchObject({ channel: "email", direction: "outbound", author: { _tag: "system" } })
    expect(copy.parts).toEqual(reply.parts)
    await vi.waitFor(async () =>
      expect(
        (await rig.hub.thread(left.conversationId)).messages.find((m) => m.id === copy.id)?.status._tag
      ).toBe("sent")
    )
    expect(thread.messages.find((m) => m.id === reply.id)?.status._tag).toBe("sent")

    // Back in the chat: the reply once, not its email copy.
    const back = await open({
      identity: signedAnna,
      conversation: { id: left.binding.id, token: left.binding.token },
      cursor: left.cursor
    })
    await back.client.next("message", (m) => m.text === "It ships tomorrow.")
    await rig.hub.reply(left.conversationId, "marker")
    await back.client.next("message", (m) => m.text === "marker")
    expect(back.client.all("message").map((m) => [m.text, m.channel])).toEqual([
      ["It ships tomorrow.", "chat"],
      ["marker", "chat"]
    ])

    // Anna answers the email after the conversation was resolved: the mail threads back to it
    // through the copy's Message-ID, not into a new conversation.
    await rig.hub.setStatus(left.conversationId, "resolved")
    const answer = customerMail({
      messageId: "answer-1@customer.example",
      from: "Anna <anna@customer.example>",
      subject: "Re: your conversation",
      inReplyTo: header(mail!.raw, "Message-ID")!,
      body: "Thanks!"
    })
    expect((await rig.email.handleWebhook!(rawMailRequest(mailSecret, answer))).status).toBeLessThan(300)
    const after = await rig.hub.thread(left.conversationId)
    expect(after.messages.some((m) => m.channel === "email" && m.direction === "inbound")).toBe(true)
  })

  it("is not emailed while the visitor is connected; only replies no socket took are", async () => {
    const { client, welcome } = await open({ identity: signedAnna })
    client.send({ type: "message", id: clientId(), text: "Hello" })
    const ack = await client.next("ack")
    const binding = await client.next("conversation")
    const live = await rig.hub.reply(ack.conversationId, "Hi Anna, here now")
    await client.next("message", (m) => m.text === "Hi Anna, here now")
    await client.close()
    expect(welcome.verified).toBe(true)

    const away = await rig.hub.reply(binding.id, "Sorry, you had left")
    expect((await outcomeOf(away.id))._tag).toBe("emailed")
    // The live reply was never handed to the fallback (its check would have been due first).
    expect(rig.outcomes.map((o) => o.messageId)).toEqual([away.id])
    const mails = await rig.smtp.waitFor(1)
    expect(mails).toHaveLength(1)
    expect(mails[0]!.raw).toContain("Sorry, you had left")
    expect(live.id).not.toBe(away.id)
  })

  it("is never emailed to an address the page gave without a signature", async () => {
    // Anna's real mailbox is known from an earlier email, so an unsigned claim of it matters.
    await rig.hub.ingest({
      channel: "email",
      providerMessageId: "<order-1@customer.example>",
      from: { address: "Anna <anna@customer.example>" },
      parts: [{ _tag: "text", text: "My order has not arrived." }],
      sentAt: Date.now()
    })
    const left = await writeAndLeave({ identity: anna }, "I am Anna, email me")
    expect(left.welcome.verified).toBe(false)
    const reply = await rig.hub.reply(left.conversationId, "Private answer")
    expect(await outcomeOf(reply.id)).toMatchObject({
      _tag: "skipped",
      reason: "refused",
      detail: "NoIdentity"
    })
    expect(rig.smtp.received).toHaveLength(0)
    const thread = await rig.hub.thread(left.conversationId)
    expect(thread.messages.filter((m) => m.channel === "email")).toHaveLength(0)
  })
})
