import { adapterSuite, createTestChannelAdapter, type TestChannelAdapter } from "../src/testing/index.js"

adapterSuite("test channel", {
  makeAdapter: () => createTestChannelAdapter({ channel: "test", secret: "s3cret" }),
  inboundRequest: (adapter, id) =>
    (adapter as TestChannelAdapter).signedRequest({
      id,
      from: "customer-1",
      text: "hello from the test channel"
    }),
  forgedRequest: (_adapter, id) =>
    createTestChannelAdapter({ channel: "test", secret: "not-the-secret" }).signedRequest({
      id,
      from: "customer-1",
      text: "forged"
    }),
  recipient: "customer-1",
  failNextSend: (adapter, retryable) => (adapter as TestChannelAdapter).failNext(1, { retryable })
})
