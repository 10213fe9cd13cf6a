import { adapterSuite } from "@dialogi/core/testing"
import { afterAll, beforeAll } from "vitest"
import { type GraphServer, metaErrors, startGraphServer } from "./graphServer.js"
import { address, graphVersion, makeAdapter, mockPages, signed, textMessage } from "./meta.js"

let graph: GraphServer
beforeAll(async () => {
  graph = await startGraphServer(graphVersion, mockPages)
})
afterAll(async () => {
  await graph.close()
})

adapterSuite("messenger", {
  makeAdapter: () => makeAdapter(graph),
  inboundRequest: (_adapter, providerId) => signed(textMessage(providerId, "hello from Messenger")),
  forgedRequest: (_adapter, providerId) => signed(textMessage(providerId, "forged"), "not-the-app-secret"),
  recipient: address,
  failNextSend: (_adapter, retryable) => {
    graph.failNext(retryable ? metaErrors.rateLimit : metaErrors.unavailable)
  }
})
