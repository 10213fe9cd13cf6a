import { describe, expect, it } from "vitest"
import { artifacts, inboxInChromiumForFile, signInAgent } from "./inboxHarness.ts"

// Browser steps wait on a live page (socket, event stream, re-render); on a loaded 2-core
// machine that takes longer than vitest's 1 s default for expect.poll.
const eventually = <T>(read: () => T | Promise<T>, options: { timeout: number } = { timeout: 15_000 }) =>
  expect.poll(read, options)

const token = "handoff-test-token-0123456789"
const running = inboxInChromiumForFile("handoff", token)

describe("handoff between agents in Chromium", () => {
  it("one agent hands a conversation off with a reason and note; the other sees it live, accepts, and owns it", async () => {
    const mikko = await signInAgent(
      await running.browser.newContext({ viewport: { width: 1280, height: 800 } }),
      running.inbox.url,
      token,
      "mikko"
    )
    const maria = await signInAgent(
      await running.browser.newContext({ viewport: { width: 1280, height: 800 } }),
      running.inbox.url,
      token,
      "maria"
    )
    const { conversationId } = await running.inbox.hub.ingest({
      channel: "chat",
      providerMessageId: "visitor-9/m1",
      from: { address: "visitor-9", name: "Ville" },
      parts: [{ _tag: "text", text: "I was charged twice for invoice 118" }],
      sentAt: Date.now()
    })

    await mikko.goto(`${running.inbox.url}/inbox#${conversationId}`)
    await mikko.locator("#handoff-to").selectOption("agent:maria")
    await mikko.locator("#handoff-reason").fill("billing question")
    await mikko.locator("#handoff-note").fill("double charge on invoice 118")
    await mikko.locator("#hand-off").click()
    await eventually(() => mikko.locator('.handoff[data-state="requested"]').textContent()).toContain(
      "Handoff to agent maria (requested) — billing question — note: double charge on invoice 118 — by mikko"
    )

    // Maria's open inbox picks it up from the event stream; she accepts.
    await maria.goto(`${running.inbox.url}/inbox#${conversationId}`)
    const pending = maria.locator('.handoff[data-state="requested"]')
    await pending.waitFor()
    await maria.screenshot({ path: `${artifacts}inbox-handoff.png` })
    await pending.getByRole("button", { name: "Accept" }).click()
    await eventually(() => maria.locator(".handoff").first().getAttribute("data-state")).toBe("accepted")
    await eventually(() => mikko.locator("[data-assignee]").last().textContent()).toBe("Assigned: maria")

    const [handoff] = await running.inbox.hub.handoffs.list(conversationId)
    expect(handoff?.state).toBe("accepted")
    expect(handoff?.decidedBy).toBe("maria")
    expect(handoff?.summary.map((entry) => entry.text)).toEqual(["I was charged twice for invoice 118"])
    expect((await running.inbox.hub.thread(conversationId)).conversation.assignee).toEqual({
      _tag: "agent",
      id: "maria"
    })

    // A second accept (mikko's stale page, say) is refused and changes nothing.
    const again = await fetch(`${running.inbox.url}/inbox/api/handoffs/${handoff!.id}/accept`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}"
    })
    expect(again.status).toBe(409)
    expect((await running.inbox.hub.thread(conversationId)).conversation.assignee).toEqual({
      _tag: "agent",
      id: "maria"
    })
  }, 60_000)

  it("refuses a handoff without a reason or to nobody, and changes nothing", async () => {
    const { conversationId } = await running.inbox.hub.ingest({
      channel: "chat",
      providerMessageId: "visitor-10/m1",
      from: { address: "visitor-10" },
      parts: [{ _tag: "text", text: "hello" }],
      sentAt: Date.now()
    })
    const post = (body: unknown) =>
      fetch(`${running.inbox.url}/inbox/api/conversations/${conversationId}/handoff`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body)
      })
    expect((await post({ to: { _tag: "agent", id: "maria" }, reason: "  " })).status).toBe(400)
    expect((await post({ to: { _tag: "agent", id: "nobody" }, reason: "x" })).status).toBe(404)
    expect((await post({ to: { _tag: "agent", id: "has space" }, reason: "x" })).status).toBe(400)
    expect(await running.inbox.hub.handoffs.list(conversationId)).toEqual([])
  })
})
