import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { expect, it } from "vitest"

const run = promisify(execFile)
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))

// The README's first command runs this program; here it runs as a user would, in its own process.
it("prints one thread for a customer who wrote by email and chat, and the event log", async () => {
  const { stdout } = await run(process.execPath, [main], { timeout: 90_000 })
  const threadLines = stdout
    .split("\n")
    .filter((line) => /^\s+\[(email|chat|note)\s*\]/.test(line))
    .map((line) => line.trim().replace(/\s+/g, " ").slice(0, 25))
  expect(threadLines).toEqual([
    "[email] customer Hi, my o",
    "[chat ] customer Hello ag",
    "[note ] agent (note) Carr",
    "[chat ] agent Your parcel"
  ])
  expect(stdout).toContain("(note) Carrier confirms")
  expect(stdout).toMatch(/Your parcel is waiting at the pickup point\. Sorry for the wait!\s+<sent>/)
  const identities = /identities: (.*)/.exec(stdout)![1]!.split(", ").sort()
  expect(identities).toEqual(["chat:visitor-8f3a", "email:anna.virtanen@example.com"])
  const events = stdout.split("\n").filter((line) => /^\s+#\d+ /.test(line))
  expect(events.filter((line) => line.endsWith("message.received"))).toHaveLength(2)
  expect(events.map((line) => Number(/#(\d+)/.exec(line)![1]))).toEqual(events.map((_, i) => i + 1))
}, 120_000)
