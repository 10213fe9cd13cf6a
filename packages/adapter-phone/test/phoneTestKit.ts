import { readFileSync } from "node:fs"
import { createHub, type DialogiHub, type HubOptions, MemoryStore } from "@dialogi/core"
import { Effect } from "effect"
import twilio from "twilio"
import { createPhoneAdapters, type PhoneAdapterConfig, type PhoneAdapters } from "../src/index.js"
import { startTwilioApiMock, type TwilioApiMock } from "./twilioApiMock.js"

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
  const api = await startTwilioApiMock(accountSid, authToken)
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
