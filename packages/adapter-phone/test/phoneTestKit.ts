import { readFileSync } from "node:fs"
import { createHub, type DialogiHub, type HubOptions, MemoryStore } from "@dialogi/core"
import { Effect } from "effect"
import twilio from "twilio"
import { afterEach, expect } from "vitest"
import { createPhoneAdapters, type PhoneAdapterConfig, type PhoneAdapters } from "../src/index.js"
import { startTwilioApiMock, type TwilioApiMock } from "./twilioApiMock.js"
import { parseTwiml, type TwimlElement, voiceTwimlViolations } from "./twimlDocument.js"

export const accountSid = "AC00000000000000000000000000000001"
export const authToken = "12345678901234567890123456789012"
export const messagingServiceSid = "MG00000000000000000000000000000001"
export const smsWebhookUrl = "https://support.example.com/twilio/sms"
export const voiceWebhookUrl = "https://support.example.com/twilio/voice"
/** The URL the app sees behind the TLS-terminating proxy. */
export const internalBase = "http://10.0.0.7:3000/twilio"

/** A Twilio payload fixture (form parameters as Twilio documents them). */
export const fixture = (name: string): Record<string, string> =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), "utf8")) as Record<
    string,
    string
  >

/**
 * The request Twilio sends: form-encoded params, signed over the PUBLIC url, delivered to the
 * internal url (as behind a proxy).
 */
export const signedRequest = (
  publicUrl: string,
  params: Record<string, string>,
  options: { signWith?: string; signedUrl?: string; signature?: string | null; internalUrl?: string } = {}
): Request => {
  const signature =
    options.signature === undefined
      ? twilio.getExpectedTwilioSignature(
          options.signWith ?? authToken,
          options.signedUrl ?? publicUrl,
          params
        )
      : options.signature
  const url = new URL(publicUrl)
  const internal =
    options.internalUrl ?? `${internalBase}${url.pathname.replace(/^\/twilio/, "")}${url.search}`
  return new Request(internal, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      host: "10.0.0.7:3000",
      ...(signature === null ? {} : { "x-twilio-signature": signature })
    },
    body: new URLSearchParams(params).toString()
  })
}

/** The Twilio API mock for the kit's account. */
export const startTwilioApi = (): Promise<TwilioApiMock> => startTwilioApiMock(accountSid, authToken)

/** Everything a phone test needs: the Twilio mock, both adapters and a hub on the memory store. */
export interface PhoneKit {
  readonly api: TwilioApiMock
  readonly phone: PhoneAdapters
  readonly hub: DialogiHub
  readonly close: () => Promise<void>
}

export const makeConfig = (
  api: TwilioApiMock,
  overrides: Partial<PhoneAdapterConfig> = {}
): PhoneAdapterConfig => ({
  accountSid,
  authToken,
  smsWebhookUrl,
  voiceWebhookUrl,
  messagingServiceSid,
  apiBaseUrl: api.url,
  requestTimeoutMs: 2_000,
  voice: { greeting: "Thanks for calling Example Support. We usually answer within 2 hours." },
  ...overrides
})

export const startPhoneKit = async (
  overrides: Partial<PhoneAdapterConfig> = {},
  hubOptions: {
    runWorkers?: boolean
    sendRetryDelayMs?: number
    hooks?: HubOptions["hooks"]
    sla?: HubOptions["sla"]
  } = {}
): Promise<PhoneKit> => {
  const api = await startTwilioApi()
  const phone = createPhoneAdapters(makeConfig(api, overrides))
  const store = await Effect.runPromise(MemoryStore.makeMemoryStore())
  const hub = await createHub({
    store,
    adapters: phone.all,
    runWorkers: hubOptions.runWorkers ?? false,
    sendRetryDelayMs: hubOptions.sendRetryDelayMs ?? 20,
    ...(hubOptions.hooks === undefined ? {} : { hooks: hubOptions.hooks }),
    ...(hubOptions.sla === undefined ? {} : { sla: hubOptions.sla }),
    log: () => {}
  })
  return {
    api,
    phone,
    hub,
    close: async () => {
      await hub.close()
      await api.close()
    }
  }
}

/**
 * Kits started in a file's tests, each closed after its test: `const kits = phoneKitPerTest()` at
 * the top of the file, `await kits.start(...)` in a test or a `beforeEach`.
 */
export const phoneKitPerTest = (): { start: typeof startPhoneKit } => {
  const started: PhoneKit[] = []
  afterEach(async () => {
    for (const kit of started.splice(0)) await kit.close()
  })
  return {
    start: async (...args) => {
      const kit = await startPhoneKit(...args)
      started.push(kit)
      return kit
    }
  }
}

/** Twilio delivering an inbound SMS (the fixture's unless `params` say otherwise), signed. */
export const textIn = (
  phone: PhoneAdapters,
  params: Record<string, string> = fixture("inbound-sms")
): Promise<Response> => phone.sms.handleWebhook!(signedRequest(smsWebhookUrl, params))

/**
 * Twilio calling a voice webhook, signed, at `url`: the answer must be 200 with TwiML Twilio
 * accepts for a call.
 */
export const voiceTwiml = async (
  phone: PhoneAdapters,
  url: string,
  params: Record<string, string>
): Promise<TwimlElement> => {
  const response = await phone.voice.handleWebhook!(signedRequest(url, params))
  expect(response.status).toBe(200)
  expect(response.headers.get("content-type")).toContain("text/xml")
  const twiml = parseTwiml(await response.text())
  expect(voiceTwimlViolations(twiml)).toEqual([])
  return twiml
}

/** Messages stored so far, from the event log. */
export const receivedMessages = async (hub: DialogiHub) =>
  (await hub.events.after(0)).flatMap((e) => (e.body._tag === "message.received" ? [e.body] : []))

/**
 * A context for tests that only start an adapter; nothing may go through it. Untyped on
 * purpose: it fits core's AdapterContext with or without its newer members.
 */
export const unusedContext = {
  ingest: async () => Promise.reject(new Error("unused")),
  updateStatus: async () => {},
  recordOutbound: async () => Promise.reject(new Error("unused")),
  log: () => {}
}
