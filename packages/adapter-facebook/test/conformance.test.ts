import { adapterSuite } from "@dialogi/core/testing"
import { metaErrors } from "./graphServer.js"
import { address, makeAdapter, mockGraphForFile, signed, textMessage } from "./meta.js"

const graph = await mockGraphForFile()

adapterSuite("messenger", {
  makeAdapter: () => makeAdapter(graph),
  inboundRequest: (_adapter, providerId) => signed(textMessage(providerId, "hello from Messenger")),
  forgedRequest: (_adapter, providerId) => signed(textMessage(providerId, "forged"), "not-the-app-secret"),
  recipient: address,
  failNextSend: (_adapter, retryable) => {
    graph.failNext(retryable ? metaErrors.rateLimit : metaErrors.unavailable)
  }
})
