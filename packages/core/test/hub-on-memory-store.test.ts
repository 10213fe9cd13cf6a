import { Effect } from "effect"
import { MemoryStore } from "../src/index.js"
import { hubSuite } from "../src/testing/index.js"

hubSuite("the memory store", {
  make: async () => ({ store: await Effect.runPromise(MemoryStore.makeMemoryStore()) })
})
