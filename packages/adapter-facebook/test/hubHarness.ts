import { createHub, type DialogiHub, type HubOptions, MemoryStore, type Message } from "@dialogi/core"
import { Effect } from "effect"
import type { FacebookAdapter } from "../src/index.js"

/** A hub on the memory store with the Messenger adapter; the send worker runs when asked. */
export const startHub = async (
  adapter: FacebookAdapter,
  runWorkers = false,
  hooks?: HubOptions["hooks"]
): Promise<DialogiHub> =>
  createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [adapter],
    runWorkers,
    sendRetryDelayMs: 20,
    ...(hooks === undefined ? {} : { hooks }),
    log: () => {}
  })

/** The messages received so far, oldest first. */
export const received = async (hub: DialogiHub): Promise<Message[]> => {
  const events = await hub.events.after(0)
  return events.flatMap((e) => (e.body._tag === "message.received" ? [e.body.message] : []))
}

/** Waits until `check` holds (the send worker runs in the background). */
export const eventually = async <A>(check: () => Promise<A | undefined>, timeoutMs = 5_000): Promise<A> => {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > until) throw new Error("condition not reached in time")
    await new Promise((r) => setTimeout(r, 10))
  }
}
