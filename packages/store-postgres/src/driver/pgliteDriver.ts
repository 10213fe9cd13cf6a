import type { PGlite } from "@electric-sql/pglite"
import type { Row, SqlDriver, SqlTransaction, Statement } from "./SqlDriver.js"

const textOf = (statement: Statement | string) => (typeof statement === "string" ? statement : statement.text)

interface PgliteExecutor {
  query: PGlite["query"]
  exec: PGlite["exec"]
}

// Without parameters the statement may be several (pg-boss migrations): exec runs those, like
// pg's simple protocol does.
const run = async (
  on: PgliteExecutor,
  statement: Statement | string,
  params: ReadonlyArray<unknown> | undefined
): Promise<Row[]> =>
  params !== undefined && params.length > 0
    ? (await on.query<Row>(textOf(statement), params as unknown[])).rows
    : (await on.exec(textOf(statement))).flatMap((r) => r.rows as Row[])

const rollbackSignal = Symbol("rollback")

/**
 * The {@link SqlDriver} on one PGlite instance. PGlite has a single connection: its own
 * `transaction` holds a mutex that `query` and `exec` also wait for, so a read outside a
 * transaction waits for the open one to end instead of running inside it.
 */
export const makePgliteDriver = (db: PGlite, options: { readonly closeDb: boolean }): SqlDriver => {
  const begin = (first?: string) =>
    new Promise<SqlTransaction>((resolveHandle, rejectHandle) => {
      let settle!: (commit: boolean) => void
      const outcome = new Promise<boolean>((resolve) => {
        settle = resolve
      })
      let opened = false
      // PGlite's transaction is callback-shaped; the callback parks until the store decides.
      const finished = db.transaction(async (tx) => {
        if (first !== undefined) {
          try {
            await tx.exec(first)
          } catch (error) {
            rejectHandle(error)
            throw error
          }
        }
        opened = true
        // PGlite runs in this process: a round trip costs nothing, so deferred statements simply
        // run, in order, before whatever comes next.
        let deferred: Array<{
          statement: Statement
          params: ReadonlyArray<unknown>
          onRows?: (rows: Row[]) => void
        }> = []
        const flush = async () => {
          while (deferred.length > 0) {
            const [next, ...rest] = deferred
            deferred = rest
            // Run first: `onRows?.(await run(...))` would skip the statement when nobody listens.
            const rows = await run(tx, next!.statement, next!.params)
            next!.onRows?.(rows)
          }
        }
        resolveHandle({
          query: async (statement, params) => {
            await flush()
            return run(tx, statement, params)
          },
          queryAll: async (statements) => {
            await flush()
            const results: Row[][] = []
            for (const { statement, params } of statements) results.push(await run(tx, statement, params))
            return results
          },
          defer: (statement, params, onRows) => {
            deferred.push({ statement, params, ...(onRows === undefined ? {} : { onRows }) })
          },
          exec: async (sql) => {
            await flush()
            await tx.exec(sql)
          },
          commit: async () => {
            try {
              await flush()
            } catch (error) {
              settle(false)
              await finished.catch(() => {})
              throw error
            }
            settle(true)
            await finished
          },
          rollback: async () => {
            deferred = []
            settle(false)
            await finished.catch(() => {})
          }
        })
        if (!(await outcome)) throw rollbackSignal
      })
      finished.catch((error: unknown) => {
        if (!opened) rejectHandle(error)
      })
    })

  return {
    name: "pglite",
    query: (statement, params) => run(db, statement, params),
    exec: async (sql) => {
      await db.exec(sql)
    },
    begin,
    listen: async (channel, onPayload) => {
      const unsubscribe = await db.listen(channel, onPayload)
      return unsubscribe
    },
    close: async () => {
      if (options.closeDb && !db.closed) await db.close()
    }
  }
}
