import { describe, expect, it } from "vitest"
import { artifacts, inboxInChromiumForFile, signInAgent } from "./inboxHarness.ts"

// Browser steps wait on a live page; on a loaded 2-core machine that takes longer than
// vitest's 1 s default for expect.poll.
const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000 })

const token = "visibility-test-token-0123456789"
const beaToken = "bea-own-token-0123456789"
const olgaToken = "olga-own-token-0123456789"
const running = inboxInChromiumForFile("visibility", token, {
  INBOX_AGENTS: JSON.stringify([
    { id: "bea", token: beaToken, teams: ["billing"] },
    { id: "olga", token: olgaToken, role: "admin" }
  ])
})

const asBearer = (bearer: string, path: string, body?: unknown) =>
  fetch(`${running.inbox.url}/inbox/api${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })

const listedIds = async (bearer: string) =>
  (
    (await (await asBearer(bearer, "/conversations?status=all")).json()) as { items: Array<{ id: string }> }
  ).items.map((c) => c.id)

const newChat = async (visitor: string, text: string) => {
  const { conversationId } = await running.inbox.hub.ingest({
    channel: "chat",
    providerMessageId: `${visitor}/m1`,
    from: { address: visitor, name: visitor },
    parts: [{ _tag: "text", text }],
    sentAt: Date.now()
  })
  // Routing runs just after the message is stored: the chat lands in team support's queue.
  await eventually(
    async () => (await running.inbox.hub.thread(conversationId)).conversation.assignee
  ).toEqual({
    _tag: "team",
    id: "support"
  })
  return conversationId
}

describe("who sees which conversation in Chromium", () => {
  it("a customer's chat reaches the agents of its team; an agent of another team sees it neither in the list nor by its URL; an admin sees it", async () => {
    const conversationId = await newChat("visitor-21", "Where is my parcel?")

    // Mikko signed in with the shared token: team support, so the chat is in his list.
    const mikko = await signInAgent(await running.browser.newContext(), running.inbox.url, token, "mikko")
    await eventually(() => mikko.locator(`[data-conversation-id="${conversationId}"]`).count()).toBe(1)
    await mikko.goto(`${running.inbox.url}/inbox#${conversationId}`)
    await eventually(() => mikko.locator("#thread").textContent()).toContain("Where is my parcel?")

    // Bea (team billing, her own token) gets an empty list and a not-found for the direct URL.
    const bea = await signInAgent(await running.browser.newContext(), running.inbox.url, beaToken, "bea")
    await eventually(() => bea.locator("#conversations .empty").count()).toBe(1)
    expect(await bea.locator(`[data-conversation-id="${conversationId}"]`).count()).toBe(0)
    await bea.goto(`${running.inbox.url}/inbox#${conversationId}`)
    await eventually(() => bea.locator("[data-thread-error]").textContent()).toBe(
      "No such conversation in your teams."
    )
    expect(await bea.locator("#thread").textContent()).not.toContain("Where is my parcel?")
    await bea.screenshot({ path: `${artifacts}inbox-other-team.png` })

    // Olga (admin) sees it, as do scripts with the shared token.
    const olga = await signInAgent(await running.browser.newContext(), running.inbox.url, olgaToken, "olga")
    await eventually(() => olga.locator(`[data-conversation-id="${conversationId}"]`).count()).toBe(1)
    expect(await listedIds(olgaToken)).toContain(conversationId)
    expect(await listedIds(token)).toContain(conversationId)
    expect(await listedIds(beaToken)).not.toContain(conversationId)
  }, 90_000)

  it("the API answers an agent of another team 404 for every route of the conversation and changes nothing", async () => {
    const conversationId = await newChat("visitor-22", "Cancel my order please")
    const before = await running.inbox.hub.thread(conversationId)
    const notFound = await asBearer(beaToken, `/conversations/does-not-exist`)
    const hidden = await asBearer(beaToken, `/conversations/${conversationId}`)
    // Someone else's conversation answers exactly like one that does not exist.
    expect([hidden.status, await hidden.text()]).toEqual([notFound.status, await notFound.text()])
    expect(hidden.status).toBe(404)
    for (const [action, body] of [
      ["reply", { text: "hi" }],
      ["note", { text: "peek" }],
      ["assign", { assignee: { _tag: "agent", id: "bea" } }],
      ["status", { status: "resolved" }],
      ["handoff", { to: { _tag: "agent", id: "bea" }, reason: "mine now" }]
    ] as const)
      expect([
        action,
        (await asBearer(beaToken, `/conversations/${conversationId}/${action}`, body)).status
      ]).toEqual([action, 404])
    const after = await running.inbox.hub.thread(conversationId)
    expect(after.messages).toHaveLength(before.messages.length)
    expect(after.conversation.assignee).toEqual({ _tag: "team", id: "support" })
    expect(after.conversation.status).toBe("open")
    expect(await running.inbox.hub.handoffs.list(conversationId)).toEqual([])

    // Handed to her by a support agent: she may read the thread to decide (not yet answer in
    // it), and once she accepts it is hers.
    const handoff = (await (
      await asBearer(token, `/conversations/${conversationId}/handoff`, {
        to: { _tag: "agent", id: "bea" },
        reason: "refund question"
      })
    ).json()) as { id: string }
    expect((await asBearer(beaToken, `/conversations/${conversationId}`)).status).toBe(200)
    expect((await asBearer(beaToken, `/conversations/${conversationId}/note`, { text: "peek" })).status).toBe(
      404
    )
    expect((await asBearer(beaToken, `/handoffs/${handoff.id}/accept`, {})).status).toBe(200)
    expect((await asBearer(beaToken, `/conversations/${conversationId}`)).status).toBe(200)
    expect(await listedIds(beaToken)).toContain(conversationId)
  }, 60_000)

  it("a roster name signs in only with its own token; the shared token cannot act as a roster agent or as the script key", async () => {
    const signIn = (agent: string, candidate: string) =>
      fetch(`${running.inbox.url}/inbox/sign-in`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ agent, token: candidate }).toString()
      })
    const withShared = await signIn("olga", token)
    expect(withShared.status).toBe(401)
    expect(withShared.headers.get("set-cookie")).toBeNull()
    expect((await signIn("bea", olgaToken)).status).toBe(401)
    expect((await signIn("api", token)).status).toBe(400)
    const own = await signIn("olga", olgaToken)
    expect(own.status).toBe(303)
    expect((await running.inbox.hub.routing.participant("olga")).role).toBe("admin")
    expect((await running.inbox.hub.routing.participant("bea")).teams).toEqual(["billing"])
  })
})
