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
import { parseTwiml, voiceTwimlViolations } from "./twimlDocument.js"

const kits = phoneKitPerTest()
let kit: PhoneKit | undefined

const call = (route: string, name: string, extra: Record<string, string> = {}) =>
  voiceTwiml(kit!.phone, `${voiceWebhookUrl}${route}`, { ...fixture(name), ...extra })

describe("inbound calls", () => {
  it("the TwiML checker catches invalid TwiML (the check can fail)", () => {
    expect(
      voiceTwimlViolations(
        parseTwiml('<Response><Record transcribe="yes"/><Dial><Say>x</Say></Dial></Response>')
      )
    ).toEqual(["Record@transcribe=yes", "<Say> cannot be inside <Dial>"])
    expect(() => parseTwiml("<Response><Say></Response>")).toThrow()
  })

  it("with no agent: greeting, then a voicemail with transcription; recording and transcript land in the thread of the caller's SMS", async () => {
    kit = await kits.start()
    await textIn(kit.phone)

    const answer = await call("", "voice-incoming")
    expect(answer.children.map((c) => c.name)).toEqual(["Say", "Say", "Record", "Say", "Hangup"])
    expect(answer.children[0]!.text).toContain("We usually answer within 2 hours")
    const record = answer.children.find((c) => c.name === "Record")!
    expect(record.attributes).toMatchObject({
      action: `${voiceWebhookUrl}/recording`,
      transcribe: "true",
      transcribeCallback: `${voiceWebhookUrl}/transcription`,
      maxLength: "120"
    })
    expect(await receivedMessages(kit.hub)).toHaveLength(1)

    const afterRecording = await call("/recording", "voice-recording")
    expect(afterRecording.children.map((c) => c.name)).toEqual(["Say", "Hangup"])
    // Twilio retries: the same callbacks again change nothing.
    await call("/recording", "voice-recording")
    await call("/transcription", "voice-transcription")
    await call("/transcription", "voice-transcription")

    const received = await receivedMessages(kit.hub)
    expect(received).toHaveLength(3)
    expect(new Set(received.map((r) => r.conversationId)).size).toBe(1)
    const [, voicemail, transcript] = received.map((r) => r.message)
    const recordingUrl = `${fixture("voice-recording").RecordingUrl}.mp3`
    expect(voicemail!.channel).toBe("voice")
    expect(voicemail!.providerMessageId).toBe("CA5f4e3d2c1b0a99887766554433221100:voicemail")
    expect(voicemail!.parts).toEqual([
      { _tag: "call", event: "voicemail", durationSeconds: 14, from: "+14155552671", to: "+15017122661" },
      { _tag: "voice", recording: { ref: recordingUrl, contentType: "audio/mpeg" }, durationSeconds: 14 }
    ])
    expect(transcript!.providerMessageId).toBe("CA5f4e3d2c1b0a99887766554433221100:transcript")
    expect(transcript!.parts).toEqual([
      {
        _tag: "voice",
        recording: { ref: recordingUrl, contentType: "audio/mpeg" },
        transcript: "Hi, this is Anna calling about order 1234, please call me back."
      }
    ])
    // The agent answers the voicemail by SMS, on the same thread.
    expect(await kit.hub.canReply(received[0]!.conversationId, "sms")).toMatchObject({
      ok: true,
      address: "+14155552671"
    })
    expect(await kit.hub.canReply(received[0]!.conversationId, "voice")).toMatchObject({
      ok: false,
      refusal: { _tag: "CapabilityMissing", capability: "text" }
    })
  })

  it("rings the agent first, and goes to voicemail when the agent does not answer", async () => {
    kit = await kits.start({ voice: { forwardTo: async () => "+14155550199", dialTimeoutSeconds: 15 } })
    const answer = await call("", "voice-incoming")
    const dial = answer.children.find((c) => c.name === "Dial")!
    expect(dial.attributes).toMatchObject({ timeout: "15", action: `${voiceWebhookUrl}/dial-status` })
    expect(dial.children.map((c) => [c.name, c.text])).toEqual([["Number", "+14155550199"]])
    const afterDial = await call("/dial-status", "voice-dial-no-answer")
    expect(afterDial.children.map((c) => c.name)).toContain("Record")
    expect(await receivedMessages(kit.hub)).toHaveLength(0)
  })

  it("records an answered call as a call event with its duration", async () => {
    kit = await kits.start({ voice: { forwardTo: "+14155550199" } })
    const afterDial = await call("/dial-status", "voice-dial-no-answer", {
      DialCallStatus: "completed",
      DialCallDuration: "95"
    })
    expect(afterDial.children.map((c) => c.name)).toEqual(["Hangup"])
    const [received] = await receivedMessages(kit.hub)
    expect(received!.message.parts).toEqual([
      { _tag: "call", event: "answered", durationSeconds: 95, from: "+14155552671", to: "+15017122661" }
    ])
  })

  it("a caller who hangs up without a message is a missed call", async () => {
    kit = await kits.start()
    await call("/recording", "voice-recording", { RecordingDuration: "0" })
    const [received] = await receivedMessages(kit.hub)
    expect(received!.message.parts).toMatchObject([{ _tag: "call", event: "missed" }])
  })

  it("a failed transcription adds nothing", async () => {
    kit = await kits.start()
    await call("/transcription", "voice-transcription", {
      TranscriptionStatus: "failed",
      TranscriptionText: ""
    })
    expect(await receivedMessages(kit.hub)).toHaveLength(0)
  })
})
