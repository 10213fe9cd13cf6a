import type { DialogiHub } from "@dialogi/core"
import { describe, expect, it } from "vitest"
import type { AttachmentReader, FacebookAdapter } from "../src/index.js"
import { metaErrors } from "./graphServer.js"
import { eventually, received, startHub } from "./hubHarness.js"
import { makeAdapter, mockGraphForFile, psid, signed, textMessage } from "./meta.js"

const graph = await mockGraphForFile()

const pdf = new TextEncoder().encode("%PDF-1.7\n% an invoice\n%%EOF\n")
const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3])
const files: AttachmentReader = {
  get: async (ref) => ({ "store:invoice": pdf, "store:photo": png })[ref]
}

const conversationWith = async (adapter: FacebookAdapter, hub: DialogiHub, mid: string) => {
  await adapter.handleWebhook(signed(textMessage(mid, "send me the invoice please")))
  const [message] = (await received(hub)).filter((m) => m.providerMessageId === mid)
  return message!.conversationId
}

const settled = (hub: DialogiHub, conversationId: string, id: string) =>
  eventually(async () => {
    const message = (await hub.thread(conversationId)).messages.find((m) => m.id === id)
    return message && message.status._tag !== "queued" ? message : undefined
  })

const postsSince = (from: number) =>
  graph.requests
    .slice(from)
    .filter((r) => r.method === "POST")
    .map((r) => ({ endpoint: r.path.split("/").pop(), body: r.body }))

const invoice = { ref: "store:invoice", contentType: "application/pdf", filename: "invoice-42.pdf" }
const photo = { ref: "store:photo", contentType: "image/png" }

describe("attachments by upload (Attachment Upload API)", () => {
  it("uploads files that are not URLs as multipart and sends them by attachment_id, URLs still by URL", async () => {
    const adapter = makeAdapter(graph, { attachments: files })
    const hub = await startHub(adapter, true)
    try {
      const conversationId = await conversationWith(adapter, hub, "m_wants_invoice")
      const before = graph.requests.length
      const reply = await hub.reply(conversationId, {
        parts: [
          { _tag: "text", text: "Here you go:" },
          { _tag: "attachment", attachment: invoice },
          { _tag: "attachment", attachment: photo },
          {
            _tag: "attachment",
            attachment: { ref: "https://cdn.example.com/terms.pdf", contentType: "application/pdf" }
          }
        ]
      })
      expect((await settled(hub, conversationId, reply.id)).status._tag).toBe("sent")

      const posts = postsSince(before)
      expect(posts.map((p) => p.endpoint)).toEqual([
        "messages",
        "message_attachments",
        "messages",
        "message_attachments",
        "messages",
        "messages"
      ])
      expect(posts[1]?.body).toEqual({
        message: { attachment: { type: "file", payload: { is_reusable: false } } },
        filedata: { filename: "invoice-42.pdf", type: "application/pdf", size: pdf.byteLength, bytes: pdf }
      })
      expect(posts[3]?.body).toMatchObject({
        message: { attachment: { type: "image" } },
        filedata: { type: "image/png", bytes: png }
      })
      const sentAttachments = posts.filter((p) => p.endpoint === "messages").map((p) => p.body?.message)
      const attachmentIdOf = (body: Record<string, unknown> | undefined) =>
        (body?.message as { attachment?: { payload?: { attachment_id?: string } } } | undefined)?.attachment
          ?.payload?.attachment_id
      const [fileId, imageId] = [posts[2], posts[4]].map((p) => attachmentIdOf(p?.body))
      expect(graph.uploaded(fileId!)).toMatchObject({ type: "file", contentType: "application/pdf" })
      expect(graph.uploaded(imageId!)).toMatchObject({ type: "image", contentType: "image/png" })
      expect(sentAttachments.slice(1)).toEqual([
        {
          attachment: { type: "file", payload: { attachment_id: fileId } },
          metadata: `dialogi:${reply.id}:1`
        },
        {
          attachment: { type: "image", payload: { attachment_id: imageId } },
          metadata: `dialogi:${reply.id}:2`
        },
        {
          attachment: {
            type: "file",
            payload: { url: "https://cdn.example.com/terms.pdf", is_reusable: false }
          },
          metadata: `dialogi:${reply.id}:3`
        }
      ])
      expect(graph.requests.slice(before).every((r) => r.token === "page-token-1")).toBe(true)
      expect(posts[0]?.body).toMatchObject({ recipient: { id: psid } })
    } finally {
      await hub.close()
    }
  })

  it("retries a failed upload without sending the parts already sent again", async () => {
    const adapter = makeAdapter(graph, { attachments: files })
    const hub = await startHub(adapter, true)
    try {
      const conversationId = await conversationWith(adapter, hub, "m_wants_invoice_again")
      const before = graph.requests.length
      // Meta's temporary failure (code 1200, retryable) on the upload, after the text went out.
      graph.failNextOn("message_attachments", metaErrors.temporary)
      const reply = await hub.reply(conversationId, {
        parts: [
          { _tag: "text", text: "Attached." },
          { _tag: "attachment", attachment: invoice }
        ]
      })
      expect((await settled(hub, conversationId, reply.id)).status._tag).toBe("sent")
      expect(postsSince(before).map((p) => p.endpoint)).toEqual([
        "messages",
        "message_attachments",
        "message_attachments",
        "messages"
      ])
    } finally {
      await hub.close()
    }
  })

  it("fails for good, with the reason, when the file cannot be found or no reader is configured", async () => {
    for (const [options, ref, reason] of [
      [{ attachments: files }, "store:gone", 'attachment \\"store:gone\\" not found'],
      [{}, "store:invoice", "no attachments reader is configured"]
    ] as const) {
      const adapter = makeAdapter(graph, options)
      const hub = await startHub(adapter, true)
      try {
        const conversationId = await conversationWith(adapter, hub, `m_missing_${ref}_${reason.length}`)
        const before = graph.requests.length
        const reply = await hub.reply(conversationId, {
          parts: [{ _tag: "attachment", attachment: { ...invoice, ref } }]
        })
        const message = await settled(hub, conversationId, reply.id)
        expect(message.status).toMatchObject({ _tag: "failed", retryable: false })
        expect(JSON.stringify(message.status)).toContain(reason)
        expect(postsSince(before)).toEqual([])
      } finally {
        await hub.close()
      }
    }
  })
})
