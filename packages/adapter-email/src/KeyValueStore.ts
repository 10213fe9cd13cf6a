import { mkdir, readFile, rename, writeFile } from "node:fs/promises"
import { join } from "node:path"

/**
 * The small durable map the adapter keeps its own state in (IMAP cursors, thread headers for
 * replies, quarantine). Core has no key-value API yet, so it is pluggable here: memory by
 * default, a directory of files for single-process deployments, or the host's own database.
 */
export interface KeyValueStore {
  readonly get: (key: string) => Promise<string | undefined>
  readonly set: (key: string, value: string) => Promise<void>
}

/** Forgets everything on restart; the default, fine for tests. */
export const memoryKeyValueStore = (): KeyValueStore => {
  const map = new Map<string, string>()
  return { get: async (k) => map.get(k), set: async (k, v) => void map.set(k, v) }
}

/** One file per key under `directory`, written atomically (write + rename). */
export const fileKeyValueStore = (directory: string): KeyValueStore => {
  const path = (key: string) => join(directory, `${Buffer.from(key).toString("base64url")}.json`)
  let ready: Promise<unknown> | undefined
  return {
    get: (key) =>
      readFile(path(key), "utf8").then(
        (s) => s,
        (e: NodeJS.ErrnoException) => {
          if (e.code === "ENOENT") return undefined
          throw e
        }
      ),
    set: async (key, value) => {
      ready ??= mkdir(directory, { recursive: true })
      await ready
      const target = path(key)
      const temp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
      await writeFile(temp, value)
      await rename(temp, target)
    }
  }
}
