import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createHub, type DialogiHub, type StoreService } from "@dialogi/core"
import { afterEach, describe, expect, it } from "vitest"
import {
  callbackRebookText,
  createPhoneAdapters,
  type PhoneAdapterConfig,
  type PhoneAdapters
} from "../src/index.js"
import {
  fixture,
  makeConfig,
  receivedMessages,
  signedRequest,
  startTwilioApi,
  textIn,
  voiceTwiml
} from "./phoneTestKit.js"
import { createPostgresDatabase, dropConnections, type TestDatabase } from "./postgresStores.js"
import type { TwilioApiMock } from "./twilioApiMock.js"

const customer = "+14155552671"
const agentNumber = "+14155550199"
const callerId = "+15017122661"
const rebookUrl = "https://support.example.com/callbacks/new"

interface Instance {
  readonly phone: PhoneAdapters
  readonly hub: DialogiHub
}

let cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
  cleanups = []
})

const waitFor = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) => {
  const until = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const setUp = async (callbacks: Partial<NonNullable<PhoneAdapterConfig["callbacks"]>> = {}) => {
  const database: TestDatabase = await createPostgresDatabase()
  const api: TwilioApiMock = await startTwilioApi()
  const stateDirectory = await mkdtemp(join(tmpdir(), "dialogi-phone-"))
  cleanups.push(async () => {
    await api.close()
    await database.cleanup()
    await rm(stateDirectory, { recursive: true, force: true })
  })
  const config = (directory: string) =>
    makeConfig(api, {
      from: callerId,
      stateDirectory: directory,
      callbacks: {
        agent: () => ({ participantId: "anna", number: agentNumber }),
        ringSeconds: 20,
        retryPauseMs: 300,
        ...callbacks
      }
    })
  /** One app process: its own adapters, store pool and hub over the shared database. */
  const start = async (store: StoreService, directory = stateDirectory): Promise<Instance> => {
    const phone = createPhoneAdapters(config(directory))
    const hub = await createHub({
      store,
      adapters: phone.all,
      runWorkers: true,
      routing: { rebookText: callbackRebookText({ rebookUrl }) },
      log: () => {}
    })
    let closed = false
    const close = async () => {
      if (closed) return
      closed = true
      await hub.close()
    }
    cleanups.push(close)
    await phone.attach(hub)
    return { phone, hub }
  }
  return { database, api, start }
}

/** The customer texts in, an agent exists: the conversation a callback belongs to. */
const customerWrites = async ({ phone, hub }: Instance) => {
  await hub.routing.upsertTeam({ id: "phones" })
  await hub.routing.upsertParticipant({ id: "anna", teams: ["phones"], capacity: 5, availability: "online" })
  const response = await textIn(phone)
  expect(response.status).toBe(200)
  const [received] = await receivedMessages(hub)
  return received!.conversationId
}

/** Twilio calling one of the callback's webhooks, signed, at the URL the adapter gave it. */
const twilioCalls = async (
  instance: Instance,
  url: string,
  name: string,
  extra: Record<string, string> = {}
) => voiceTwiml(instance.phone, url, { ...fixture(name), ...extra })

/** A callback whose window opens in 200 ms and stays open a minute. */
const scheduleSoon = (instance: Instance, conversationId: string) => {
  const from = Date.now() + 200
  return instance.hub.callbacks.schedule(conversationId, {
    window: { from, to: from + 60_000 },
    phone: customer
  })
}

const callbackTags = async (hub: DialogiHub) =>
  (await hub.events.after(0, 5000)).map((e) => e.body._tag).filter((t) => t.startsWith("callback."))

describe("callbacks", () => {
  it("a callback scheduled before a restart is dialled once, inside its window, and completes when the customer answers", async () => {
    const { database, api, start } = await setUp()
    const first = await start(await database.open())
    const conversationId = await customerWrites(first)
    const from = Date.now() + 2_500
    const to = from + 30_000
    const callback = await first.hub.callbacks.schedule(conversationId, {
      window: { from, to },
      phone: customer,
      note: "order 1234"
    })
    // The process stops before the window opens.
    await first.hub.close()
    expect(api.calls).toHaveLength(0)

    // Restarted over the same database and state, with a second instance beside it.
    const restarted = await start(await database.open())
    const other = await start(await database.open(), await mkdtemp(join(tmpdir(), "dialogi-phone-other-")))
    await waitFor("the call to the agent", () => api.calls.length > 0)
    await new Promise((r) => setTimeout(r, 1_000))
    expect(api.calls).toHaveLength(1)
    const [call] = api.calls
    expect(call!.at).toBeGreaterThanOrEqual(from)
    expect(call!.at).toBeLessThan(to)
    const create = api.requests.find((r) => r.path.endsWith("/Calls.json"))!
    expect(create.violations).toEqual([])
    expect(call!.params).toMatchObject({
      To: [agentNumber],
      From: [callerId],
      Method: ["POST"],
      Timeout: ["20"]
    })
    const answerUrl = call!.params.Url![0]!
    const statusUrl = call!.params.StatusCallback![0]!
    expect(answerUrl.startsWith("https://support.example.com/twilio/voice/callback/answer?")).toBe(true)
    expect((await restarted.hub.callbacks.get(callback.id)).state).toBe("in_progress")
    // A third instance starting now replays callback.due from the beginning of the log: the
    // callback is in progress (a live call), so it dials nothing.
    const late = await start(await database.open(), await mkdtemp(join(tmpdir(), "dialogi-phone-late-")))
    await waitFor(
      "the late instance to replay",
      async () => (await late.phone.state.get("callback:cursor")) !== undefined
    )
    expect(api.calls).toHaveLength(1)

    // The agent answers: the TwiML dials the customer, with the Twilio number as caller id.
    // Twilio may reach either instance; the other one answers here.
    const answer = await twilioCalls(other, answerUrl, "callback-agent-answered")
    expect(answer.children.map((c) => c.name)).toEqual(["Gather", "Say", "Hangup"])
    const gather = answer.children[0]!
    expect(gather.attributes).toMatchObject({ numDigits: "1", method: "POST" })
    expect(gather.children[0]!.text).toContain("order 1234")
    // The agent presses 1 (a voicemail answering would not).
    const connect = await twilioCalls(other, gather.attributes.action!, "callback-agent-answered", {
      Digits: "1"
    })
    expect(connect.children.map((c) => c.name)).toEqual(["Dial"])
    const dial = connect.children[0]!
    expect(dial.attributes).toMatchObject({ callerId, timeout: "20", method: "POST" })
    expect(dial.children.map((c) => [c.name, c.text])).toEqual([["Number", customer]])

    // The customer answers and talks; Twilio reports the bridged leg, then the call's end.
    const afterBridge = await twilioCalls(restarted, dial.attributes.action!, "callback-bridge")
    expect(afterBridge.children.map((c) => c.name)).toEqual(["Hangup"])
    await twilioCalls(restarted, statusUrl, "callback-status")
    await twilioCalls(restarted, statusUrl, "callback-status") // a duplicate changes nothing

    const done = await restarted.hub.callbacks.get(callback.id)
    expect(done).toMatchObject({ state: "completed", by: "anna" })
    expect(await callbackTags(restarted.hub)).toEqual([
      "callback.scheduled",
      "callback.due",
      "callback.in_progress",
      "callback.completed"
    ])
    await new Promise((r) => setTimeout(r, 500))
    expect(api.calls).toHaveLength(1)
  })

  it("retries an unanswered attempt after a pause, then gives up, missed, and offers a new window by SMS", async () => {
    const { database, api, start } = await setUp({ maxAttempts: 2 })
    const instance = await start(await database.open())
    const conversationId = await customerWrites(instance)
    const callback = await scheduleSoon(instance, conversationId)
    await waitFor("the first call", () => api.calls.length === 1)
    // Attempt 1: the agent's phone is busy.
    await twilioCalls(instance, api.calls[0]!.params.StatusCallback![0]!, "callback-status", {
      CallStatus: "busy",
      CallDuration: "0"
    })
    const paused = Date.now()
    await waitFor("the second call", () => api.calls.length === 2)
    expect(api.calls[1]!.at - paused).toBeGreaterThanOrEqual(250)
    expect(api.calls[1]!.params.Url![0]).toContain("attempt=2")
    // Attempt 2: the agent answers, the customer does not.
    const answer = await twilioCalls(instance, api.calls[1]!.params.Url![0]!, "callback-agent-answered")
    const connectUrl = answer.children.find((c) => c.name === "Gather")!.attributes.action!
    const connect = await twilioCalls(instance, connectUrl, "callback-agent-answered", { Digits: "1" })
    const bridgeUrl = connect.children.find((c) => c.name === "Dial")!.attributes.action!
    const afterBridge = await twilioCalls(instance, bridgeUrl, "callback-bridge", {
      DialCallStatus: "no-answer",
      DialCallDuration: "0"
    })
    expect(afterBridge.children.map((c) => c.name)).toEqual(["Say", "Hangup"])
    // A late status of attempt 1 arriving now must not start a third call.
    await twilioCalls(instance, api.calls[0]!.params.StatusCallback![0]!, "callback-status", {
      CallStatus: "busy"
    })
    await twilioCalls(instance, api.calls[1]!.params.StatusCallback![0]!, "callback-status")

    await waitFor("the new window offer", async () => {
      const c = await instance.hub.callbacks.get(callback.id)
      return c.state === "rebook_offered"
    })
    const missed = await instance.hub.callbacks.get(callback.id)
    expect(missed.missedReason).toBe("the customer did not answer (attempt 2 of 2)")
    await waitFor("the SMS", () => api.messages.length === 1)
    const sms = api.requests.find((r) => r.path.endsWith("/Messages.json") && r.method === "POST")!
    expect(sms.violations).toEqual([])
    expect(sms.params.To).toEqual([customer])
    expect(sms.params.Body![0]).toContain(rebookUrl)
    const events = await instance.hub.events.after(0, 5000)
    expect(events.map((e) => e.body._tag).filter((t) => t.startsWith("callback."))).toEqual([
      "callback.scheduled",
      "callback.due",
      "callback.in_progress",
      "callback.missed",
      "callback.rebook_offered"
    ])
    expect(events.find((e) => e.body._tag === "callback.rebook_offered")!.body).toMatchObject({
      channel: "sms",
      messageId: missed.rebookMessageId
    })
    expect(api.calls).toHaveLength(2)
  })

  it("a call that was live when the process stopped is looked up at restart, and its unanswered end retried", async () => {
    const { database, api, start } = await setUp()
    const first = await start(await database.open())
    const conversationId = await customerWrites(first)
    const callback = await scheduleSoon(first, conversationId)
    await waitFor("the first call", () => api.calls.length === 1)
    await waitFor(
      "the call recorded as live",
      async () =>
        (await first.phone.state.get(`callback:pending:${callback.id}`))?.includes(api.calls[0]!.sid) === true
    )
    await first.hub.close()
    // The agent did not answer while the process was down; that status callback found nobody.
    api.calls[0]!.status = "no-answer"

    const restarted = await start(await database.open())
    await waitFor("the retry", () => api.calls.length === 2)
    const lookup = api.requests.find(
      (r) => r.method === "GET" && r.path.endsWith(`/Calls/${api.calls[0]!.sid}.json`)
    )
    expect(lookup?.violations).toEqual([])
    expect(api.calls[1]!.params.Url![0]).toContain("attempt=2")
    expect((await restarted.hub.callbacks.get(callback.id)).state).toBe("in_progress")
  })

  it("an agent's voicemail answering (no key pressed) does not ring the customer; the attempt counts as failed", async () => {
    const { database, api, start } = await setUp({ maxAttempts: 1 })
    const instance = await start(await database.open())
    const conversationId = await customerWrites(instance)
    const callback = await scheduleSoon(instance, conversationId)
    await waitFor("the call", () => api.calls.length === 1)
    const answer = await twilioCalls(instance, api.calls[0]!.params.Url![0]!, "callback-agent-answered")
    const connectUrl = answer.children.find((c) => c.name === "Gather")!.attributes.action!
    // Twilio falls through the Gather to the next verbs without calling its action; a stray
    // action without the key connects nothing either.
    const stray = await twilioCalls(instance, connectUrl, "callback-agent-answered", { Digits: "#" })
    expect(stray.children.map((c) => c.name)).toEqual(["Say", "Hangup"])
    await twilioCalls(instance, api.calls[0]!.params.StatusCallback![0]!, "callback-status")
    await waitFor(
      "the miss",
      async () => (await instance.hub.callbacks.get(callback.id)).state !== "in_progress"
    )
    expect((await instance.hub.callbacks.get(callback.id)).missedReason).toBe(
      "the agent did not press 1 (a voicemail answered?) (attempt 1 of 1)"
    )
  })

  it("keeps following events through a database outage (every connection dropped) and still dials", async () => {
    const { database, api, start } = await setUp()
    const instance = await start(await database.open())
    const conversationId = await customerWrites(instance)
    await dropConnections(database.url)
    let callback: Awaited<ReturnType<DialogiHub["callbacks"]["schedule"]>> | undefined
    // The hub's own pools reconnect; the first writes after the drop may still fail.
    await waitFor("a callback scheduled after the outage", async () => {
      callback = await instance.hub.callbacks
        .schedule(conversationId, {
          window: { from: Date.now() + 300, to: Date.now() + 60_000 },
          phone: customer
        })
        .catch(() => undefined)
      return callback !== undefined
    })
    await waitFor("the call", () => api.calls.length === 1)
    expect((await instance.hub.callbacks.get(callback!.id)).state).toBe("in_progress")
  })

  it("answers a callback webhook with a forged signature with 403 and dials nothing", async () => {
    const { database, api, start } = await setUp()
    const instance = await start(await database.open())
    const response = await instance.phone.voice.handleWebhook!(
      signedRequest(
        "https://support.example.com/twilio/voice/callback/answer?cb=cb_x&attempt=1",
        fixture("callback-agent-answered"),
        { signWith: "another-token-another-token-1234" }
      )
    )
    expect(response.status).toBe(403)
    expect(api.calls).toHaveLength(0)
  })
})
