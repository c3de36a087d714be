/**
 * The tables of distributed batches, created on first start: ours (`effect_dspy_batches`,
 * `effect_dspy_results`, `effect_dspy_runners`, by `@effect/sql`'s `Migrator`) and
 * `@effect/cluster`'s own (`cluster_messages`, `cluster_replies`, `cluster_runners`, made by its
 * storage layers). Both are made under one session advisory lock, so that runners and a
 * coordinator starting together on an empty database do not race on `CREATE TABLE` (two
 * sessions creating one table at once can fail, and `@effect/cluster` turns that failure into
 * a defect at startup).
 *
 * @since 0.2.0
 */
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * The names of our tables for a prefix (default `effect_dspy`).
 *
 * @since 0.2.0
 */
export const names = (prefix = "effect_dspy") => ({
  batches: `${prefix}_batches`,
  results: `${prefix}_results`,
  runners: `${prefix}_runners`,
  migrations: `${prefix}_migrations`
})

const migrations = (prefix: string) => {
  const t = names(prefix)
  return Migrator.fromRecord({
    "0001_batches_results_runners": Effect.gen(function*() {
      const sql = (yield* SqlClient.SqlClient).withoutTransforms()
      yield* sql`
        CREATE TABLE IF NOT EXISTS ${sql(t.batches)} (
          batch_id TEXT PRIMARY KEY,
          program TEXT NOT NULL,
          lanes INTEGER NOT NULL,
          generation INTEGER NOT NULL DEFAULT 0,
          total INTEGER,
          created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
          finished_at TIMESTAMPTZ
        )`
      yield* sql`
        CREATE TABLE IF NOT EXISTS ${sql(t.results)} (
          batch_id TEXT NOT NULL,
          item_id TEXT NOT NULL,
          item_index INTEGER NOT NULL,
          status TEXT NOT NULL,
          record TEXT NOT NULL,
          written_by TEXT NOT NULL,
          created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
          PRIMARY KEY (batch_id, item_id)
        )`
      yield* sql`
        CREATE TABLE IF NOT EXISTS ${sql(t.runners)} (
          address TEXT PRIMARY KEY,
          program TEXT NOT NULL,
          model TEXT NOT NULL,
          concurrency INTEGER NOT NULL,
          started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
          last_seen TIMESTAMPTZ NOT NULL DEFAULT now()
        )`
    }),
    // who holds a batch's lease (`CoordinatorLease`), for the message of a refused coordinator
    "0002_batch_coordinator": Effect.gen(function*() {
      const sql = (yield* SqlClient.SqlClient).withoutTransforms()
      yield* sql`ALTER TABLE ${sql(t.batches)} ADD COLUMN IF NOT EXISTS coordinator TEXT`
    }),
    // A result belongs to a batch: an item that finishes after its batch was cleaned up (it was
    // in flight on a runner) is not stored, instead of leaving a row that a new batch of the
    // same id would take for its own. The check locks the batch's row, so that no insert slips
    // in while cleanup deletes it.
    "0003_results_batch_key": Effect.gen(function*() {
      const sql = (yield* SqlClient.SqlClient).withoutTransforms()
      yield* sql`DELETE FROM ${sql(t.results)} r WHERE NOT EXISTS (SELECT 1 FROM ${sql(t.batches)} b WHERE b.batch_id = r.batch_id)`
      yield* sql`
        ALTER TABLE ${sql(t.results)} ADD CONSTRAINT ${sql(`${t.results}_batch_fk`)}
        FOREIGN KEY (batch_id) REFERENCES ${sql(t.batches)} (batch_id) ON DELETE CASCADE`
    })
  })
}

/**
 * Creates every table a distributed batch needs, if missing (ours and `@effect/cluster`'s),
 * holding a session advisory lock meanwhile.
 *
 * @since 0.2.0
 */
export const ensure = (options: { readonly prefix?: string | undefined } = {}): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.scoped(Effect.gen(function*() {
    const prefix = options.prefix ?? "effect_dspy"
    const sql = yield* SqlClient.SqlClient
    const connection = yield* sql.reserve
    const lock = `effect-dspy/tables/${prefix}`
    // the lock belongs to this pooled connection: it is released before the connection goes back
    yield* Effect.acquireRelease(
      connection.executeRaw("SELECT pg_advisory_lock(hashtext($1))", [lock]),
      () => Effect.ignore(connection.executeRaw("SELECT pg_advisory_unlock(hashtext($1))", [lock]))
    )
    yield* Migrator.make({})({ loader: migrations(prefix), table: names(prefix).migrations }).pipe(
      Effect.catchTag("MigrationError", (error) => Effect.dieMessage(`effect-dspy tables: ${error.message}`))
    )
    // @effect/cluster creates its tables when its storage layers are built
    yield* Layer.build(
      Layer.merge(SqlMessageStorage.layer, SqlRunnerStorage.layer).pipe(Layer.provide(ShardingConfig.layerDefaults))
    )
  }))
