import { Effect } from "effect"
import { MemoryStore } from "../src/index.js"
import { storeSuite } from "../src/testing/index.js"

storeSuite("memory", async () => ({ store: await Effect.runPromise(MemoryStore.makeMemoryStore()) }))
