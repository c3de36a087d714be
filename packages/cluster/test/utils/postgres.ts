/**
 * A throwaway PostgreSQL server per test file (`LocalPostgres`: initdb + pg_ctl in a temporary
 * folder on a free loopback port) and a fresh database per test. Where the binaries cannot be
 * found, `available` is false and the suites skip, saying why.
 */
import * as LocalPostgres from "../../src/LocalPostgres.js"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

const binaries = await Effect.runPromise(LocalPostgres.findBinaries.pipe(Effect.provide(NodeContext.layer)))

/** Whether the PostgreSQL binaries were found. */
export const available = Option.isSome(binaries)

if (!available) {
  console.warn(
    "[cluster tests] skipped: PostgreSQL's initdb/pg_ctl were not found (apt-get install postgresql, or set EFFECT_DSPY_PG_BIN)"
  )
}

/** The file's server. */
export class TestPostgres extends Context.Tag("test/TestPostgres")<TestPostgres, LocalPostgres.LocalPostgres>() {}

/** Starts the server (shared by the tests of a file through `layer(...)`). */
export const layer: Layer.Layer<TestPostgres> = Layer.scoped(TestPostgres, LocalPostgres.make()).pipe(
  Layer.orDie,
  Layer.provide(NodeContext.layer)
)

let databases = 0

/** A fresh database on the file's server: its URL. */
export const freshDatabase: Effect.Effect<string, never, TestPostgres> = Effect.flatMap(
  TestPostgres,
  (server) => Effect.orDie(server.createDatabase(`t_${process.pid}_${++databases}`))
)

/** A `PgClient` (and `SqlClient`) on a URL: one pool, as one process would have. */
export const client = (url: string) => PgClient.layer({ url: Redacted.make(url), maxConnections: 4 })
