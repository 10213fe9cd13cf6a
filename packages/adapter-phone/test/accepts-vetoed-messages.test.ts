import type { DialogiHub, IngestHook } from "@dialogi/core"
import { describe, expect, it } from "vitest"
import {
  fixture,
  type PhoneKit,
  phoneKitPerTest,
  receivedMessages,
  textIn,
  voiceTwiml,
  voiceWebhookUrl
} from "./phoneTestKit.js"
import { parseTwiml } from "./twimlDocument.js"

// Vetoes every inbound message of one channel, like a spam or compliance filter would.
const vetoChannel = (channel: string): IngestHook => ({
  name: "no-inbound",
  run: (m) => (m.channel === channel ? { _tag: "veto", reason: `no ${channel} today` } : undefined)
})

const vetoEvents = async (hub: DialogiHub) =>
  (await hub.events.after(0)).flatMap((e) => (e.body._tag === "hook.ingest_vetoed" ? [e.body] : []))

const kits = phoneKitPerTest()
let kit: PhoneKit | undefined

describe("a message an ingest hook vetoed", () => {
  it("SMS: Twilio gets empty success TwiML (no retry), nothing is stored, the veto is recorded once", async () => {
    kit = await kits.start({ defaultRegion: "US" }, { hooks: { ingest: [vetoChannel("sms")] } })
    const response = await textIn(kit.phone)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toContain("text/xml")
    const twiml = parseTwiml(await response.text())
    expect(twiml.name).toBe("Response")
    // Nothing is said to the sender: the refusal is the host's business, not an auto-reply.
    expect(twiml.children).toEqual([])
    expect(await receivedMessages(kit.hub)).toEqual([])
    expect(await vetoEvents(kit.hub)).toEqual([
      expect.objectContaining({
        _tag: "hook.ingest_vetoed",
        hook: "no-inbound",
        reason: "no sms today",
        channel: "sms",
        providerMessageId: "SM1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d",
        address: "+14155552671"
      })
    ])
  })

  it("voice: a vetoed voicemail still gets the call's goodbye TwiML with 200, nothing is stored, one veto", async () => {
    kit = await kits.start({}, { hooks: { ingest: [vetoChannel("voice")] } })
    const twiml = await voiceTwiml(kit.phone, `${voiceWebhookUrl}/recording`, fixture("voice-recording"))
    expect(twiml.children.map((c) => c.name)).toEqual(["Say", "Hangup"])
    expect(await receivedMessages(kit.hub)).toEqual([])
    expect(await vetoEvents(kit.hub)).toEqual([
      expect.objectContaining({
        hook: "no-inbound",
        channel: "voice",
        providerMessageId: "CA5f4e3d2c1b0a99887766554433221100:voicemail"
      })
    ])
  })

  it("other channels' messages still go through the same hub", async () => {
    kit = await kits.start({ defaultRegion: "US" }, { hooks: { ingest: [vetoChannel("voice")] } })
    const response = await textIn(kit.phone)
    expect(response.status).toBe(200)
    expect(await receivedMessages(kit.hub)).toHaveLength(1)
    expect(await vetoEvents(kit.hub)).toEqual([])
  })
})
