import { randomBytes } from "node:crypto"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { AttachmentStore } from "../src/index.js"
import {
  fixture,
  type PhoneKit,
  phoneKitPerTest,
  receivedMessages,
  signedRequest,
  textIn,
  voiceWebhookUrl
} from "./phoneTestKit.js"

const kits = phoneKitPerTest()
let kit: PhoneKit | undefined
let directory: string
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "dialogi-phone-media-"))
})
afterEach(async () => {
  await rm(directory, { recursive: true, force: true })
})

const mms = fixture("inbound-mms")
const photo = randomBytes(40_000)
const label = randomBytes(3_000)
const serveMedia = (k: PhoneKit) => {
  k.api.media.set("ME00000000000000000000000000000001", { contentType: "image/jpeg", body: photo })
  k.api.media.set("ME00000000000000000000000000000002", { contentType: "image/png", body: label })
}
const deliver = async (k: PhoneKit) => textIn(k.phone, mms)

describe("MMS media are copied into the attachment store", () => {
  it("fetches each MediaUrl with the account's Basic auth, follows Twilio's redirect without it, and points the parts at the copies", async () => {
    kit = await kits.start({ attachments: { directory } })
    serveMedia(kit)
    const response = await deliver(kit)
    expect(response.status).toBe(200)
    const [received] = await receivedMessages(kit.hub)
    const [text, first, second] = received!.message.parts
    expect(text).toEqual({ _tag: "text", text: "Photo of the damaged box" })
    expect(first).toMatchObject({
      _tag: "attachment",
      attachment: { contentType: "image/jpeg", size: photo.length }
    })
    expect(second).toMatchObject({
      _tag: "attachment",
      attachment: { contentType: "image/png", size: label.length }
    })
    const refs = [first, second].map((p) => (p!._tag === "attachment" ? p!.attachment.ref : ""))
    for (const ref of refs) expect(ref.startsWith("file://")).toBe(true)
    expect(await readFile(fileURLToPath(refs[0]!))).toEqual(photo)
    expect(await readFile(fileURLToPath(refs[1]!))).toEqual(label)
    expect(fileURLToPath(refs[0]!)).toBe(join(directory, `${mms.MessageSid}/0.jpg`))
    // Twilio's side demanded the account's Basic auth; the storage side got none.
    expect(kit.api.storageRequests).toEqual([
      { path: "/media/ME00000000000000000000000000000001", authorization: false },
      { path: "/media/ME00000000000000000000000000000002", authorization: false }
    ])
    const unauthenticated = await fetch(`${kit.api.url}${new URL(mms.MediaUrl0!).pathname}`, {
      redirect: "manual"
    })
    expect(unauthenticated.status).toBe(401)
  })

  it("a storage failure answers 503 with nothing stored; Twilio's retry then stores the message once", async () => {
    kit = await kits.start({ attachments: { directory } })
    serveMedia(kit)
    kit.api.media.set("ME00000000000000000000000000000002", {
      contentType: "image/png",
      body: label,
      status: 503
    })
    expect((await deliver(kit)).status).toBe(503)
    expect(await receivedMessages(kit.hub)).toHaveLength(0)
    serveMedia(kit)
    expect((await deliver(kit)).status).toBe(200)
    expect((await deliver(kit)).status).toBe(200)
    const received = await receivedMessages(kit.hub)
    expect(received).toHaveLength(1)
  })

  it("a medium over the size limit, or one Twilio no longer has, stays a reference to Twilio's URL", async () => {
    kit = await kits.start({ attachments: { directory, maxBytes: 10_000 } })
    kit.api.media.set("ME00000000000000000000000000000001", { contentType: "image/jpeg", body: photo })
    const response = await deliver(kit)
    expect(response.status).toBe(200)
    const [received] = await receivedMessages(kit.hub)
    expect(received!.message.parts.slice(1)).toEqual([
      { _tag: "attachment", attachment: { ref: mms.MediaUrl0, contentType: "image/jpeg" } },
      { _tag: "attachment", attachment: { ref: mms.MediaUrl1, contentType: "image/png" } }
    ])
  })

  it("takes a pluggable store", async () => {
    const kept: Array<{ key: string; contentType: string; size: number }> = []
    const store: AttachmentStore = {
      put: async ({ key, contentType, body }) => {
        kept.push({ key, contentType, size: body.byteLength })
        return { ref: `s3://bucket/${key}` }
      }
    }
    kit = await kits.start({ attachments: { store } })
    serveMedia(kit)
    expect((await deliver(kit)).status).toBe(200)
    const [received] = await receivedMessages(kit.hub)
    expect(received!.message.parts[1]).toMatchObject({
      attachment: { ref: `s3://bucket/${mms.MessageSid}/0.jpg` }
    })
    expect(kept).toEqual([
      { key: `${mms.MessageSid}/0.jpg`, contentType: "image/jpeg", size: photo.length },
      { key: `${mms.MessageSid}/1.png`, contentType: "image/png", size: label.length }
    ])
  })

  it("voicemail recordings are copied too, and the transcript points at the same copy", async () => {
    kit = await kits.start({ attachments: { directory } })
    const audio = randomBytes(20_000)
    kit.api.media.set("RE00000000000000000000000000000001", { contentType: "audio/mpeg", body: audio })
    for (const [route, name] of [
      ["/recording", "voice-recording"],
      ["/transcription", "voice-transcription"]
    ] as const) {
      const response = await kit.phone.voice.handleWebhook!(
        signedRequest(`${voiceWebhookUrl}${route}`, fixture(name))
      )
      expect(response.status).toBe(200)
    }
    const [voicemail, transcript] = await receivedMessages(kit.hub)
    const expected = {
      ref: pathToFileURL(join(directory, "recordings/RE00000000000000000000000000000001.mp3")).href,
      contentType: "audio/mpeg",
      size: audio.length
    }
    expect(voicemail!.message.parts[1]).toMatchObject({ _tag: "voice", recording: expected })
    expect(transcript!.message.parts[0]).toMatchObject({ _tag: "voice", recording: expected })
    expect(await readFile(join(directory, "recordings/RE00000000000000000000000000000001.mp3"))).toEqual(
      audio
    )
  })

  it("a recording that cannot be copied stays Twilio's URL and the call goes on", async () => {
    kit = await kits.start({ attachments: { directory } })
    const response = await kit.phone.voice.handleWebhook!(
      signedRequest(`${voiceWebhookUrl}/recording`, fixture("voice-recording"))
    )
    expect(response.status).toBe(200)
    const [voicemail] = await receivedMessages(kit.hub)
    expect(voicemail!.message.parts[1]).toMatchObject({
      recording: { ref: `${fixture("voice-recording").RecordingUrl}.mp3`, contentType: "audio/mpeg" }
    })
  })
})
