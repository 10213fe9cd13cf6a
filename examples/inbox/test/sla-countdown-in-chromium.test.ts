import { describe, expect, it } from "vitest"
import { inboxInChromiumForFile, signInAgent } from "./inboxHarness.ts"

const token = "sla-test-token-0123456789"
const running = inboxInChromiumForFile("sla", token, {
  INBOX_SLA_FIRST_RESPONSE_MINUTES: "30",
  INBOX_SLA_NEXT_RESPONSE_MINUTES: "120"
})

// Browser steps wait on a live page; on a loaded 2-core machine that takes longer than 1 s.
const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000 })

const ingest = (n: number, text: string) =>
  running.inbox.hub.ingest({
    channel: "chat",
    providerMessageId: `visitor-sla/m${n}`,
    from: { address: "visitor-sla" },
    parts: [{ _tag: "text", text }],
    sentAt: Date.now()
  })

describe("SLA countdown in the inbox (Chromium)", () => {
  it("shows the first-response countdown, drops it on the reply, shows next response, pauses while waiting", async () => {
    const { conversationId } = await ingest(1, "Is the shop open on Sunday?")
    const page = await signInAgent(
      await running.browser.newContext({ viewport: { width: 1280, height: 800 } }),
      running.inbox.url,
      token
    )
    await page.goto(`${running.inbox.url}/inbox#${conversationId}`)

    // In the list and in the thread: due in 30 minutes (29m once a minute passed).
    const rowSla = page.locator(`#conversations li[data-conversation-id="${conversationId}"] .sla`)
    await eventually(() => rowSla.textContent()).toMatch(/^reply due in (30|29)m$/)
    const due = Number(await rowSla.getAttribute("data-sla-due"))
    const expected = (await running.inbox.hub.sla.expectedReply(conversationId))!
    expect(due).toBe(expected.dueAt!.getTime())
    expect(expected.target).toBe("first_response")

    // The reply meets the first-response target: no countdown while nobody waits.
    await page.locator("#reply-text").fill("Yes, 10-16.")
    await page.locator("#send-reply").click()
    await eventually(() => page.locator(".thread-head .sla").count()).toBe(0)

    // The customer writes again: the next-response clock (2 h) runs.
    await ingest(2, "Great, and on Monday?")
    await eventually(() => page.locator(".thread-head .sla").textContent()).toMatch(
      /^reply due in (2h 0m|1h 59m)$/
    )

    // Waiting on the customer pauses the clock.
    await page.locator("#status").selectOption("waiting_on_customer")
    await eventually(() => page.locator(".thread-head .sla").textContent()).toBe("SLA paused")
  }, 60_000)
})
