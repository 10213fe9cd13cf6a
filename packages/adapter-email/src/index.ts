export * from "./resolveThread.js"
export * from "./ThreadToken.js"
