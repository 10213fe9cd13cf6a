export * from "./adapterSuite.js"
export * from "./hubSuite.js"
export * from "./TestChannelAdapter.js"
