import * as initial from "./0001_initial.js"
import * as deadlines from "./0002_deadlines.js"
import * as sla from "./0003_sla.js"
import * as routing from "./0004_routing.js"
import * as csat from "./0005_csat.js"

/** One schema change; `id`s increase and a released migration never changes. */
export interface Migration {
  readonly id: number
  readonly name: string
  readonly sql: string
}

/** Every migration, in order. Both PostgreSQL and PGlite run exactly these. */
export const migrations: ReadonlyArray<Migration> = [
  { id: 1, name: "initial", sql: initial.sql },
  { id: 2, name: "deadlines", sql: deadlines.sql },
  { id: 3, name: "sla", sql: sla.sql },
  { id: 4, name: "routing", sql: routing.sql },
  { id: 5, name: "csat", sql: csat.sql }
]
