/** Rows as the driver returns them: column name to value. */
export type Row = Record<string, unknown>

/** A statement: its text, and a name when it is fixed text worth preparing once per connection. */
export interface Statement {
  readonly text: string
  readonly name?: string | undefined
  /**
   * Every parameter is cast where it is used and none appears inside a string literal, so the
   * statement can be sent with its parameters written in as literals (see `inlineStatement`):
   * then it can share a round trip with other statements.
   */
  readonly inline?: true | undefined
}

/** Something statements can run on: the pool, or one open transaction. */
export interface SqlExecutor {
  readonly query: (statement: Statement | string, params?: ReadonlyArray<unknown>) => Promise<Row[]>
}

/** An open transaction; exactly one of `commit` or `rollback` ends it. */
export interface SqlTransaction extends SqlExecutor {
  /**
   * Queues an `inline` statement whose rows nobody waits for: it is sent with the next
   * statement or with COMMIT, in the same round trip where the driver can. Its failure fails
   * that next statement (or the commit) and the transaction; `onRows` hears its rows.
   */
  readonly defer: (
    statement: Statement,
    params: ReadonlyArray<unknown>,
    onRows?: (rows: Row[]) => void
  ) => void
  /**
   * Runs `inline` statements in order and returns each one's rows; where the driver can, in one
   * round trip. Each statement sees what the ones before it did and committed work of others
   * up to its own start (a snapshot per statement, as separate queries would).
   */
  readonly queryAll: (
    statements: ReadonlyArray<{ readonly statement: Statement; readonly params: ReadonlyArray<unknown> }>
  ) => Promise<Row[][]>
  /** Runs several statements (no parameters) in one round trip, e.g. a migration. */
  readonly exec: (sql: string) => Promise<void>
  readonly commit: () => Promise<void>
  /** Never rejects: a rollback that cannot reach the server drops the connection instead. */
  readonly rollback: () => Promise<void>
}

/**
 * The narrow primitive the store is built on, implemented for `pg` and for PGlite. Everything
 * else (SQL, decoding, jobs) is shared, so both databases behave the same.
 */
export interface SqlDriver {
  readonly name: "postgres" | "pglite"
  /** Runs a statement outside any transaction (autocommit). */
  readonly query: SqlExecutor["query"]
  /** Runs several statements (no parameters) in one round trip, e.g. a migration. */
  readonly exec: (sql: string) => Promise<void>
  /**
   * Opens a transaction; `first` (statements without parameters) runs right after BEGIN. With
   * `lazy`, where the driver can, BEGIN and `first` wait for the transaction's first statement
   * and go in its round trip (when that statement is `inline`), and a transaction that sent
   * nothing costs no round trip at all; `first` has then not run before that statement.
   */
  readonly begin: (first?: string, options?: { readonly lazy?: boolean }) => Promise<SqlTransaction>
  /**
   * Subscribes to a NOTIFY channel. Implementations resubscribe after a lost connection and then
   * call `onReconnect`, so the caller can catch up on what it missed.
   */
  readonly listen: (
    channel: string,
    onPayload: (payload: string) => void,
    onReconnect?: () => void
  ) => Promise<() => Promise<void>>
  readonly close: () => Promise<void>
}

const quote = (text: string) => text.replaceAll('"', '""')

/** Quotes an identifier for LISTEN, which cannot take a parameter. */
export const quoteIdent = (name: string): string => `"${quote(name)}"`
