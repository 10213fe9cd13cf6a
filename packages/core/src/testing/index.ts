export * from "./adapterSuite.js"
export * from "./hubSuite.js"
export * from "./storeSuite.js"
export * from "./TestChannelAdapter.js"
