import pg from "pg"
import { inlineStatement } from "./literals.js"
import { quoteIdent, type Row, type SqlDriver, type SqlTransaction, type Statement } from "./SqlDriver.js"

/** Options for the PostgreSQL driver; `pool` is passed to `pg.Pool` as is. */
export interface PgDriverOptions {
  readonly connectionString?: string | undefined
  readonly pool?: pg.PoolConfig | undefined
  /** Called with errors that have no caller to go to (an idle connection dropped by a restart). */
  readonly onBackgroundError?: ((error: unknown) => void) | undefined
}

// Without parameters pg uses the simple protocol, which also runs several statements at once.
const toQuery = (
  statement: Statement | string,
  params: ReadonlyArray<unknown> | undefined
): pg.QueryConfig => {
  const text = typeof statement === "string" ? statement : statement.text
  const name = typeof statement === "string" ? undefined : statement.name
  return {
    text,
    ...(params !== undefined && params.length > 0 ? { values: params as unknown[] } : {}),
    ...(name === undefined ? {} : { name })
  }
}

// A multi-statement query answers with one result per statement.
const rowsOf = (result: pg.QueryResult | pg.QueryResult[]): Row[] =>
  Array.isArray(result) ? result.flatMap((r) => r.rows ?? []) : result.rows

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The {@link SqlDriver} on a `pg` pool, with a dedicated, self-healing LISTEN connection. */
export const makePgDriver = (options: PgDriverOptions): SqlDriver => {
  const config: pg.PoolConfig = {
    ...(options.connectionString === undefined ? {} : { connectionString: options.connectionString }),
    max: 10,
    ...options.pool,
    // Named statements would otherwise switch to a generic plan after five runs, costed on the
    // table sizes of that moment: a hub started on a young database kept sequential scans of
    // messages and identities (hash semi-joins) while they grew, and ingest slowed with every row.
    // Custom plans see each batch's real array sizes and the tables' current size.
    options: ["-c plan_cache_mode=force_custom_plan", options.pool?.options].filter(Boolean).join(" ")
  }
  const pool = new pg.Pool(config)
  const report = options.onBackgroundError ?? (() => {})
  // Without a listener, an idle client killed by a server restart throws from the pool's
  // EventEmitter and takes the process down; the pool already discards the broken client.
  pool.on("error", report)
  let closed = false

  const query = async (statement: Statement | string, params?: ReadonlyArray<unknown>): Promise<Row[]> =>
    rowsOf(await pool.query(toQuery(statement, params)))

  const begin = async (first?: string, options?: { readonly lazy?: boolean }): Promise<SqlTransaction> => {
    const client = await pool.connect()
    let done = false
    let broken: Error | undefined
    // The pool listens for errors only on idle clients. A checked-out client that the server
    // drops between two statements (a restart: 57P01) emits 'error', which must not go unheard.
    const onError = (error: Error) => {
      broken = error
      report(error)
    }
    client.on("error", onError)
    const release = (error?: Error) => {
      if (done) return
      done = true
      client.removeListener("error", onError)
      client.release(error ?? broken)
    }
    // Nothing is sent yet: BEGIN (with `first`) and deferred statements wait for the next
    // statement and go with it as one simple-protocol query, one round trip.
    let opened = false
    let deferred: Array<{ text: string; onRows: ((rows: Row[]) => void) | undefined }> = []
    const prefix = () => [...(opened ? [] : [first === undefined ? "BEGIN" : `BEGIN; ${first}`])]
    /** Sends what waits plus `lasts` in one query; the rows of each of `lasts`. */
    const flush = async (lasts: ReadonlyArray<string>): Promise<Row[][]> => {
      const waiting = deferred
      deferred = []
      const texts = [...prefix(), ...waiting.map((d) => d.text), ...lasts]
      if (texts.length === 0) return []
      opened = true
      const result = await client.query(texts.join(";\n"))
      const results = Array.isArray(result) ? result : [result]
      // One result per statement; the deferred statements and `lasts` are the final ones.
      const tail = results.slice(results.length - waiting.length - lasts.length)
      for (const [i, d] of waiting.entries()) d.onRows?.(tail[i]?.rows ?? [])
      return lasts.map((_, i) => tail[waiting.length + i]?.rows ?? [])
    }
    const pending = () => !opened || deferred.length > 0
    if (options?.lazy !== true)
      try {
        await flush([])
      } catch (error) {
        release(error as Error)
        throw error
      }
    return {
      query: async (statement, params) => {
        if (pending()) {
          if (typeof statement !== "string" && statement.inline === true)
            return (await flush([inlineStatement(statement, params ?? [])]))[0]!
          await flush([])
        }
        return rowsOf(await client.query(toQuery(statement, params)))
      },
      queryAll: (statements) => flush(statements.map((s) => inlineStatement(s.statement, s.params))),
      defer: (statement, params, onRows) => {
        deferred.push({ text: inlineStatement(statement, params), onRows })
      },
      exec: async (sql) => {
        // `sql` may be several statements: what waits goes first, on its own.
        if (pending()) await flush([])
        await client.query(sql)
      },
      commit: async () => {
        try {
          // A transaction that sent nothing and has nothing to send needs no round trip.
          if (opened || deferred.length > 0) await flush(["COMMIT"])
          release()
        } catch (error) {
          release(error as Error)
          throw error
        }
      },
      rollback: async () => {
        deferred = []
        if (!opened) return release()
        try {
          await client.query("ROLLBACK")
          release()
        } catch (error) {
          // Destroying the connection rolls the transaction back on the server.
          release(error as Error)
        }
      }
    }
  }

  const listen: SqlDriver["listen"] = async (channel, onPayload, onReconnect) => {
    let client: pg.Client | undefined
    let stopped = false
    let attempt = 0
    const connect = async (initial = false): Promise<void> => {
      while (!stopped && !closed) {
        const next = new pg.Client(config)
        try {
          next.on("error", report)
          next.on("notification", (n) => {
            if (n.channel === channel) onPayload(n.payload ?? "")
          })
          next.on("end", () => {
            if (client === next && !stopped && !closed) {
              client = undefined
              void connect()
            }
          })
          await next.connect()
          await next.query(`LISTEN ${quoteIdent(channel)}`)
          client = next
          if (attempt > 0) onReconnect?.()
          attempt = 0
          return
        } catch (error) {
          next.removeAllListeners("end")
          if (initial) {
            await next.end().catch(() => {})
            throw error
          }
          report(error)
          await next.end().catch(() => {})
          attempt++
          // Backoff while the server restarts: 100 ms doubling to 5 s.
          await sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)))
        }
      }
    }
    await connect(true)
    return async () => {
      stopped = true
      const current = client
      client = undefined
      await current?.end().catch(() => {})
    }
  }

  return {
    name: "postgres",
    query,
    exec: async (sql) => {
      await pool.query(sql)
    },
    begin,
    listen,
    close: async () => {
      if (closed) return
      closed = true
      await pool.end()
    }
  }
}
