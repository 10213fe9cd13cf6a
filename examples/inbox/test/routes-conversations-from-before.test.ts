import { mkdir, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createHub } from "@dialogi/core"
import { createTestChannelAdapter } from "@dialogi/core/test-channel"
import { pgliteStore } from "@dialogi/store-postgres"
import { afterAll, expect, it } from "vitest"
import { loadInboxConfig } from "../src/config.ts"
import { type RunningInbox, startInbox } from "../src/startInbox.ts"

const token = "from-before-token-0123456789"
let dataDir: string
let inbox: RunningInbox | undefined

afterAll(async () => {
  await inbox?.close()
  await rm(dataDir, { recursive: true, force: true })
})

it("a conversation stored before the inbox routed (an older data directory) is routed at start, so the agents of team support see it", async () => {
  dataDir = await mkdtemp(join(tmpdir(), "dialogi-inbox-before-"))
  // The inbox's own PGlite location, written by a hub without routing, as older versions ran.
  await mkdir(join(dataDir, "pglite"), { recursive: true })
  const before = await createHub({
    store: await pgliteStore({ dataDir: join(dataDir, "pglite") }),
    adapters: [createTestChannelAdapter({ channel: "chat" })],
    log: () => {}
  })
  const { conversationId } = await before.ingest({
    channel: "chat",
    providerMessageId: "old-visitor/m1",
    from: { address: "old-visitor" },
    parts: [{ _tag: "text", text: "still waiting from last week" }],
    sentAt: Date.now()
  })
  expect((await before.thread(conversationId)).conversation.assignee).toEqual({ _tag: "none" })
  await before.close()

  const config = await loadInboxConfig(
    { PORT: "0", INBOX_DATA_DIR: dataDir, INBOX_TOKEN: token, CHAT_SECRET: "chat-secret-0123456789abc" },
    dataDir
  )
  inbox = await startInbox(config, { log: () => undefined })
  expect((await inbox.hub.thread(conversationId)).conversation.assignee).toEqual({
    _tag: "team",
    id: "support"
  })
  const signedIn = await fetch(`${inbox.url}/inbox/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ agent: "mikko", token }).toString()
  })
  const cookie = signedIn.headers.get("set-cookie")!.split(";")[0]!
  const list = (await (
    await fetch(`${inbox.url}/inbox/api/conversations`, { headers: { cookie } })
  ).json()) as {
    items: Array<{ id: string }>
  }
  expect(list.items.map((c) => c.id)).toEqual([conversationId])
}, 60_000)
