import { type ChildProcess, spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Browser, BrowserContext } from "playwright-core"
import { afterAll, beforeAll } from "vitest"
import { launchChromium } from "../../../packages/adapter-chat/test/chromium.ts"
import {
  createTestDatabase,
  requiredDatabaseUrl
} from "../../../packages/store-postgres/test/testDatabase.ts"

import { loadInboxConfig } from "../src/config.ts"
import { type RunningInbox, startInbox } from "../src/startInbox.ts"

export const artifacts = fileURLToPath(new URL("./artifacts/", import.meta.url))
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))

/** A port nobody listens on right now (the restart test needs the same port twice). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))
      )
    })
  })

/**
 * Where the app under test keeps its data: a fresh PostgreSQL database when DATABASE_URL is
 * set (CI), else a PGlite data directory, which is what `pnpm demo` uses.
 */
export const testStorage = async (): Promise<{
  env: Record<string, string>
  dataDir: string
  label: string
  drop: () => Promise<void>
}> => {
  const dataDir = await mkdtemp(join(tmpdir(), "dialogi-inbox-"))
  const url = requiredDatabaseUrl()
  if (url === undefined)
    return {
      env: { INBOX_DATA_DIR: dataDir },
      dataDir,
      label: "PGlite",
      drop: () => rm(dataDir, { recursive: true, force: true })
    }
  const database = await createTestDatabase(url)
  return {
    env: { INBOX_DATA_DIR: dataDir, DATABASE_URL: database.url },
    dataDir,
    label: "PostgreSQL",
    drop: async () => {
      await database.drop()
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}

/** The app running as its own process, exactly as `pnpm demo` starts it. */
export interface InboxProcess {
  readonly url: string
  readonly output: () => string
  /** Sends a signal and waits for the process to be gone. */
  readonly kill: (signal: NodeJS.Signals) => Promise<void>
}

export const startInboxProcess = async (env: Record<string, string>, port: number): Promise<InboxProcess> => {
  const child: ChildProcess = spawn(process.execPath, [main], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout!.on("data", (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr!.on("data", (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`inbox did not start within 60 s:\n${output}`)), 60_000)
    const check = () => {
      if (output.includes("agent inbox")) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on("data", check)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`inbox exited with ${code} before it started:\n${output}`))
    })
  })
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    }
  }
}

/** Debian's Chromium with the project's flags, launched as the chat widget's tests launch it. */
export { launchChromium }

/** The inbox and browser a test file shares; filled in before its tests run. */
export interface InboxInChromium {
  inbox: RunningInbox
  browser: Browser
}

/**
 * Starts the inbox in this process on a fresh PGlite data directory (`env` on top of port 0,
 * `token` and a chat secret) and Debian's Chromium before the file's tests; stops both and
 * removes the directory after them.
 */
export const inboxInChromiumForFile = (
  name: string,
  token: string,
  env: Record<string, string> = {}
): InboxInChromium => {
  const running = {} as InboxInChromium
  let dataDir: string | undefined
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), `dialogi-inbox-${name}-`))
    const config = await loadInboxConfig(
      {
        PORT: "0",
        INBOX_DATA_DIR: dataDir,
        INBOX_TOKEN: token,
        CHAT_SECRET: "chat-secret-0123456789abc",
        ...env
      },
      dataDir
    )
    running.inbox = await startInbox(config, { log: () => undefined })
    running.browser = await launchChromium()
  }, 60_000)
  afterAll(async () => {
    await running.browser?.close()
    await running.inbox?.close()
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true })
  })
  return running
}

/** Signs an agent in through the sign-in form, as a person would. */
export const signInAgent = async (context: BrowserContext, url: string, token: string, agent = "mikko") => {
  const page = await context.newPage()
  await page.goto(`${url}/inbox`)
  await page.getByLabel("Your name").fill(agent)
  await page.getByLabel("Inbox token").fill(token)
  await page.getByRole("button", { name: "Sign in" }).click()
  await page.waitForURL(`${url}/inbox`)
  return page
}

/** Calls the inbox API as a script would (Bearer token). */
export const inboxApi = async <T = unknown>(
  url: string,
  token: string,
  path: string,
  body?: unknown
): Promise<T> => {
  const response = await fetch(`${url}/inbox/api${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}
