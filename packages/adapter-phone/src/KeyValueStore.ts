import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"

/**
 * The small durable map the phone adapters keep their own state in: opt-outs, the event
 * cursor and pending retries of callbacks. Core offers adapters no key-value store yet, so it
 * is pluggable: memory (tests), a directory of files (one process), or the host's database
 * (a two-column table is enough).
 */
export interface KeyValueStore {
  readonly get: (key: string) => Promise<string | undefined>
  readonly set: (key: string, value: string) => Promise<void>
  readonly delete: (key: string) => Promise<void>
  /** Every key starting with `prefix`, with its value. */
  readonly list: (prefix: string) => Promise<ReadonlyArray<readonly [key: string, value: string]>>
}

/** Forgets everything on restart: tests and one-off demos only. */
export const memoryKeyValueStore = (): KeyValueStore => {
  const map = new Map<string, string>()
  return {
    get: async (key) => map.get(key),
    set: async (key, value) => void map.set(key, value),
    delete: async (key) => void map.delete(key),
    list: async (prefix) => [...map].filter(([key]) => key.startsWith(prefix))
  }
}

/**
 * One file per key under `directory`, written atomically (write + rename), so a crash leaves
 * either the old or the new value. For a single process; instances sharing state need a store
 * on the shared database.
 */
export const fileKeyValueStore = (directory: string): KeyValueStore => {
  const fileOf = (key: string) => `${Buffer.from(key).toString("base64url")}.json`
  const path = (key: string) => join(directory, fileOf(key))
  let ready: Promise<unknown> | undefined
  const read = (file: string) =>
    readFile(file, "utf8").then(
      (s): string | undefined => s,
      (e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return undefined
        throw e
      }
    )
  return {
    get: (key) => read(path(key)),
    set: async (key, value) => {
      ready ??= mkdir(directory, { recursive: true })
      await ready
      const target = path(key)
      const temp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
      await writeFile(temp, value)
      await rename(temp, target)
    },
    delete: async (key) => {
      await rm(path(key), { force: true })
    },
    list: async (prefix) => {
      const files = await readdir(directory).catch((e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return [] as string[]
        throw e
      })
      const out: Array<readonly [string, string]> = []
      for (const file of files) {
        if (!file.endsWith(".json")) continue
        const key = Buffer.from(file.slice(0, -".json".length), "base64url").toString()
        if (!key.startsWith(prefix)) continue
        const value = await read(join(directory, file))
        if (value !== undefined) out.push([key, value])
      }
      return out
    }
  }
}
