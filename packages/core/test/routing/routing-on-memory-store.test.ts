import { Effect } from "effect"
import { MemoryStore } from "../../src/index.js"
import { routingSuite } from "../../src/testing/index.js"

routingSuite("the memory store", {
  make: async () => ({ store: await Effect.runPromise(MemoryStore.makeMemoryStore()) })
})
