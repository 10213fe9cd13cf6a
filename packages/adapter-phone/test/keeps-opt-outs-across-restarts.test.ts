import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createHub, type DialogiHub, MemoryStore } from "@dialogi/core"
import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { createPhoneAdapters, fileKeyValueStore, type PhoneAdapters } from "../src/index.js"
import {
  fixture,
  makeConfig,
  receivedMessages,
  signedRequest,
  smsWebhookUrl,
  startTwilioApi
} from "./phoneTestKit.js"
import type { TwilioApiMock } from "./twilioApiMock.js"

let directory: string
let api: TwilioApiMock
const hubs: DialogiHub[] = []
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "dialogi-phone-optout-"))
  api = await startTwilioApi()
})
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close()
  await api.close()
  await rm(directory, { recursive: true, force: true })
})

/** One process: adapters with their state under `directory`, a hub on a store of its own. */
const instance = async (): Promise<{ phone: PhoneAdapters; hub: DialogiHub }> => {
  const phone = createPhoneAdapters(makeConfig(api, { stateDirectory: directory }))
  const store = await Effect.runPromise(MemoryStore.makeMemoryStore())
  const hub = await createHub({ store, adapters: phone.all, log: () => {} })
  hubs.push(hub)
  return { phone, hub }
}

const text = (sid: string, body: string) =>
  signedRequest(smsWebhookUrl, { ...fixture("inbound-sms"), MessageSid: sid, Body: body })

describe("opt-outs on the state store", () => {
  it("a STOP survives a restart: new adapters over the same state refuse SMS to that number", async () => {
    const before = await instance()
    expect((await before.phone.sms.handleWebhook!(text("SM1", "STOP"))).status).toBe(200)
    await before.hub.close()
    hubs.splice(0)

    const after = await instance()
    expect(after.phone.sms.optOuts.isOptedOut("+14155552671")?.keyword).toBe("STOP")
    await after.phone.sms.handleWebhook!(text("SM2", "Where is my parcel?"))
    const [received] = await receivedMessages(after.hub)
    expect(await after.hub.canReply(received!.conversationId, "sms")).toMatchObject({
      ok: false,
      refusal: { _tag: "OptedOut", channel: "sms" }
    })
  })

  it("a STOP stored by one instance is honoured by another at once, and START by the other lifts it", async () => {
    const one = await instance()
    const two = await instance()
    await two.phone.sms.handleWebhook!(text("SM1", "Hello"))
    const [received] = await receivedMessages(two.hub)
    expect(await two.hub.canReply(received!.conversationId, "sms")).toMatchObject({ ok: true })

    await one.phone.sms.handleWebhook!(text("SM2", "STOP"))
    expect(await two.hub.canReply(received!.conversationId, "sms")).toMatchObject({
      ok: false,
      refusal: { _tag: "OptedOut" }
    })
    await expect(
      two.phone.sms.send({
        messageId: "m1",
        conversationId: received!.conversationId,
        to: "+14155552671",
        parts: [{ _tag: "text", text: "hi" }],
        idempotencyKey: "k1",
        attempt: 1,
        metadata: {}
      })
    ).rejects.toMatchObject({ retryable: false, code: "21610" })
    expect(api.messages).toHaveLength(0)

    await one.phone.sms.handleWebhook!(text("SM3", "START"))
    expect(await two.hub.canReply(received!.conversationId, "sms")).toMatchObject({ ok: true })
  })

  it("a state record that no longer decodes stops the adapter from starting instead of forgetting a STOP", async () => {
    const first = await instance()
    await first.phone.sms.handleWebhook!(text("SM1", "STOP"))
    await first.hub.close()
    hubs.splice(0)
    const [file] = (await readdir(directory)).filter((f) =>
      Buffer.from(f.replace(/\.json$/, ""), "base64url")
        .toString()
        .startsWith("optout:")
    )
    await writeFile(join(directory, file!), "{not json")
    await expect(instance()).rejects.toThrow()
  })
})

describe("without a state store", () => {
  it("says at start that opt-outs are kept in memory only; with one it says nothing", async () => {
    const warnings = async (overrides: Parameters<typeof makeConfig>[1]) => {
      const logged: string[] = []
      const phone = createPhoneAdapters(makeConfig(api, overrides))
      const store = await Effect.runPromise(MemoryStore.makeMemoryStore())
      hubs.push(
        await createHub({
          store,
          adapters: phone.all,
          log: (level, message) => {
            if (level === "warn") logged.push(message)
          }
        })
      )
      return logged
    }
    expect(await warnings({})).toEqual([
      "[dialogi/sms] opt-outs are kept in memory and lost on restart: set stateStore or stateDirectory"
    ])
    expect(await warnings({ stateDirectory: directory })).toEqual([])
  })
})

describe("fileKeyValueStore", () => {
  it("gets, sets, deletes and lists by prefix, across instances on the same directory", async () => {
    const a = fileKeyValueStore(join(directory, "kv"))
    expect(await a.get("x")).toBeUndefined()
    expect(await a.list("")).toEqual([])
    await a.set("optout:+1", "1")
    await a.set("optout:+2", "2")
    await a.set("callback:cursor", "9")
    const b = fileKeyValueStore(join(directory, "kv"))
    expect(await b.get("optout:+1")).toBe("1")
    expect([...(await b.list("optout:"))].sort()).toEqual([
      ["optout:+1", "1"],
      ["optout:+2", "2"]
    ])
    await b.delete("optout:+1")
    await b.delete("never-set")
    expect(await a.get("optout:+1")).toBeUndefined()
    expect((await a.list("optout:")).map(([k]) => k)).toEqual(["optout:+2"])
  })
})
