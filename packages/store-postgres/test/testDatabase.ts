import pg from "pg"

/**
 * A fresh database on the server of `DATABASE_URL`, dropped by `drop`. Fails (never skips) when
 * the server cannot be reached: CI that sets DATABASE_URL means to test against it.
 */
export const createTestDatabase = async (
  url: string
): Promise<{ url: string; drop: () => Promise<void> }> => {
  const name = `dialogi_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const target = new URL(url)
  target.pathname = `/${name}`
  return {
    url: target.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await client.end()
      }
    }
  }
}

/**
 * The PostgreSQL URL the tests must use. In CI (`CI` set) it is required: a suite that quietly
 * ran on PGlite only would pass without ever touching the server.
 */
export const requiredDatabaseUrl = (): string | undefined => {
  const url = process.env.DATABASE_URL
  if (url !== undefined && url !== "") return url
  if (process.env.CI)
    throw new Error("[dialogi/store-postgres] CI is set but DATABASE_URL is not: refusing to skip PostgreSQL")
  return undefined
}
