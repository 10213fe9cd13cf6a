import { describe, expect, it } from "vitest"
import { expectedAnswerSentence } from "../src/index.js"
import {
  fixture,
  type PhoneKit,
  phoneKitPerTest,
  receivedMessages,
  textIn,
  voiceTwiml,
  voiceWebhookUrl
} from "./phoneTestKit.js"

const kits = phoneKitPerTest()
let kit: PhoneKit | undefined

const hour = 60 * 60_000
const sla = { policies: [{ id: "phone", targets: { firstResponse: 2 * hour, nextResponse: 4 * hour } }] }
const greeting = "Thanks for calling Example Support."

const incomingCall = async (extra: Record<string, string> = {}) => {
  const twiml = await voiceTwiml(kit!.phone, voiceWebhookUrl, { ...fixture("voice-incoming"), ...extra })
  return twiml.children.filter((c) => c.name === "Say").map((c) => c.text)
}

describe("the inbound call greeting", () => {
  it("tells a caller who is waiting for an answer when it is due, from the SLA clock of their thread", async () => {
    kit = await kits.start({ voice: { greeting } }, { sla })
    await kit.phone.attach(kit.hub)
    await textIn(kit.phone)
    const [received] = await receivedMessages(kit.hub)
    const expected = await kit.hub.sla.expectedReply(received!.conversationId)
    expect(expected?.dueAt).toBeDefined()

    const said = await incomingCall()
    expect(said.slice(0, 2)).toEqual([greeting, "We expect to answer you within about 2 hours."])

    // Someone else's number has no thread: the greeting promises nothing.
    const stranger = await incomingCall({ From: "+14155550123", Caller: "+14155550123" })
    expect(stranger[0]).toBe(greeting)
    expect(stranger.join(" ")).not.toContain("expect to answer")
  })

  it("promises nothing once the customer has been answered", async () => {
    kit = await kits.start({ voice: { greeting } }, { sla })
    await kit.phone.attach(kit.hub)
    await textIn(kit.phone)
    const [received] = await receivedMessages(kit.hub)
    await kit.hub.reply(received!.conversationId, "We are on it.")
    expect(await kit.hub.sla.expectedReply(received!.conversationId)).toBeUndefined()
    const said = await incomingCall()
    expect(said.join(" ")).not.toContain("expect to answer")
  })

  it("uses the host's wording when given", async () => {
    kit = await kits.start(
      {
        voice: {
          greeting,
          expectedAnswer: (expected, now) =>
            `Answer due in ${Math.round((expected.dueAt!.getTime() - now.getTime()) / hour)} h.`
        }
      },
      { sla }
    )
    await kit.phone.attach(kit.hub)
    await textIn(kit.phone)
    expect((await incomingCall())[1]).toBe("Answer due in 2 h.")
  })

  it("words the expected time in minutes, hours or days, and never promises a time already past", () => {
    const now = new Date("2026-11-25T12:00:00Z")
    const at = (ms: number) => ({ dueAt: new Date(now.getTime() + ms), paused: false, breached: false })
    expect(expectedAnswerSentence(at(30_000), now)).toBe("We expect to answer you within 1 minute.")
    expect(expectedAnswerSentence(at(45 * 60_000), now)).toBe("We expect to answer you within 45 minutes.")
    expect(expectedAnswerSentence(at(61 * 60_000), now)).toBe("We expect to answer you within about 2 hours.")
    expect(expectedAnswerSentence(at(3 * 24 * hour), now)).toBe(
      "We expect to answer you within about 3 days."
    )
    expect(expectedAnswerSentence(at(-1), now)).toBeUndefined()
    expect(expectedAnswerSentence({ ...at(hour), paused: true }, now)).toBeUndefined()
    expect(expectedAnswerSentence({ ...at(hour), breached: true }, now)).toBeUndefined()
    expect(expectedAnswerSentence({ dueAt: undefined, paused: false, breached: false }, now)).toBeUndefined()
  })
})
