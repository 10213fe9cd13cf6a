import type { SqlDriver } from "../driver/SqlDriver.js"
import { migrations as all, type Migration } from "./index.js"

// An arbitrary constant shared by every dialogi instance: the key of the migration lock.
const migrationLockKey = 7_236_115_102_944_331

/**
 * Brings the schema up to date in one transaction under an advisory lock, so several instances
 * starting at once apply each migration exactly once and the others wait, then see it applied.
 */
export const migrate = async (
  driver: SqlDriver,
  migrations: ReadonlyArray<Migration> = all
): Promise<ReadonlyArray<number>> => {
  const tx = await driver.begin()
  try {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [migrationLockKey])
    await tx.query(
      `CREATE TABLE IF NOT EXISTS dialogi_migrations (
         id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`
    )
    const done = new Set((await tx.query("SELECT id FROM dialogi_migrations")).map((r) => Number(r.id)))
    const applied: number[] = []
    for (const migration of migrations) {
      if (done.has(migration.id)) continue
      await tx.exec(migration.sql)
      await tx.query("INSERT INTO dialogi_migrations (id, name) VALUES ($1, $2)", [
        migration.id,
        migration.name
      ])
      applied.push(migration.id)
    }
    await tx.commit()
    return applied
  } catch (error) {
    await tx.rollback()
    throw error
  }
}
