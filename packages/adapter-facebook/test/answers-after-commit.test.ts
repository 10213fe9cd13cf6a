import type { AdapterContext, InboundEnvelopeInput } from "@dialogi/core"
import { StoreError } from "@dialogi/core"
import { describe, expect, it } from "vitest"
import { makeAdapter, mockGraphForFile, signed, textMessage } from "./meta.js"

const graph = await mockGraphForFile()

/** A hub context whose commits the test releases by hand. */
const gatedContext = (outcome: "commit" | "store-down") => {
  const pending: Array<() => void> = []
  const committed: string[] = []
  const context: AdapterContext = {
    ingest: (envelope: InboundEnvelopeInput) =>
      new Promise((resolve, reject) => {
        pending.push(() => {
          if (outcome === "store-down")
            return reject(new StoreError({ message: "connection lost", transient: true }))
          committed.push(envelope.providerMessageId)
          resolve({ messageId: "msg", conversationId: "cv", contactId: "ct", duplicate: false })
        })
      }),
    updateStatus: async () => {},
    // These batches hold customer messages only; an echo reaching here would be a test bug.
    recordOutbound: async (record) => {
      throw new Error(`unexpected echo ${record.providerMessageId}`)
    },
    log: () => {}
  }
  const release = async () => {
    while (pending.length === 0) await new Promise((r) => setTimeout(r, 1))
    pending.shift()!()
  }
  return { context, committed, release }
}

const batchOfTwo = () => {
  const a = JSON.parse(textMessage("m_batch_a", "first")) as { entry: unknown[] }
  const b = JSON.parse(textMessage("m_batch_b", "second")) as { entry: unknown[] }
  return JSON.stringify({ object: "page", entry: [...a.entry, ...b.entry] })
}

describe("the webhook answers Meta only after the hub committed", () => {
  it("answers 200 only once every message of the batch is committed, in order", async () => {
    const adapter = makeAdapter(graph)
    const gate = gatedContext("commit")
    await adapter.start!(gate.context)
    let answered = false
    const response = adapter.handleWebhook(signed(batchOfTwo())).then((r) => {
      answered = true
      return r
    })
    await gate.release()
    await new Promise((r) => setTimeout(r, 20))
    expect(answered).toBe(false)
    await gate.release()
    expect((await response).status).toBe(200)
    expect(gate.committed).toEqual(["m_batch_a", "m_batch_b"])
  })

  it("answers 503 when the store fails, so that Meta retries the batch", async () => {
    const adapter = makeAdapter(graph)
    const gate = gatedContext("store-down")
    await adapter.start!(gate.context)
    const response = adapter.handleWebhook(signed(batchOfTwo()))
    await gate.release()
    expect((await response).status).toBe(503)
    expect(gate.committed).toEqual([])
  })
})
