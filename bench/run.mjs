#!/usr/bin/env node
// Runs one benchmark by name: `pnpm bench ingest` (the root script builds the packages first).
const benches = {
  ingest: () => import("./ingest/index.mjs"),
  deadlines: () => import("./deadlines/index.mjs"),
  sla: () => import("./sla/index.mjs"),
  chat: () => import("./chat/index.mjs"),
  email: () => import("./email/index.mjs")
}

const name = process.argv[2]
const load = name === undefined ? undefined : benches[name]
if (load === undefined) {
  console.error(`usage: pnpm bench <name> [options]\nbenchmarks: ${Object.keys(benches).join(", ")}`)
  process.exit(2)
}
const bench = await load()
process.exitCode = await bench.main(process.argv.slice(3))
