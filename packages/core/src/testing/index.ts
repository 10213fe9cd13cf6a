export * from "./TestChannelAdapter.js"
export * from "./adapterSuite.js"
export * from "./hubSuite.js"
