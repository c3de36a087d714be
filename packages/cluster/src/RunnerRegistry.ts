/**
 * What each runner serves, in the `effect_dspy_runners` table: its program, model and
 * concurrency, with a heartbeat. A coordinator reads it before sending anything, so that a
 * batch whose program no live runner serves, or that a runner would refuse, stops at once with
 * a clear message instead of filling the results with failures.
 *
 * @since 0.2.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Tables from "./Tables.js"

/**
 * A runner as registered.
 *
 * @since 0.2.0
 */
export interface RunnerInfo {
  /** `host:port`, as the other members reach it. */
  readonly address: string
  /** The program key it serves (see `ItemEntity.programKey`). */
  readonly program: string
  readonly model: string
  readonly concurrency: number
}

/**
 * Registers this runner until the scope closes, refreshing its heartbeat every `interval`.
 *
 * @since 0.2.0
 */
export const register = (
  info: RunnerInfo,
  options: { readonly interval?: Duration.DurationInput | undefined; readonly prefix?: string | undefined } = {}
): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const table = sql(Tables.names(options.prefix).runners)
    // runners killed without a goodbye leave their row: gone for ten minutes is gone
    yield* sql`DELETE FROM ${table} WHERE last_seen < now() - interval '10 minutes'`
    yield* sql`
      INSERT INTO ${table} (address, program, model, concurrency) VALUES (${info.address}, ${info.program}, ${info.model}, ${info.concurrency})
      ON CONFLICT (address) DO UPDATE SET program = EXCLUDED.program, model = EXCLUDED.model,
        concurrency = EXCLUDED.concurrency, started_at = now(), last_seen = now()`
    // (a missed beat while the database is away only makes the runner look older for a while)
    yield* sql`UPDATE ${table} SET last_seen = now() WHERE address = ${info.address}`.pipe(
      Effect.ignore,
      Effect.repeat(Schedule.spaced(options.interval ?? Duration.seconds(5))),
      Effect.interruptible,
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() =>
      sql`DELETE FROM ${table} WHERE address = ${info.address}`.pipe(Effect.timeout("2 seconds"), Effect.ignore)
    )
  })

/**
 * The runners whose heartbeat is younger than `maxAge` (default 30 s).
 *
 * @since 0.2.0
 */
export const live = (
  options: { readonly maxAge?: Duration.DurationInput | undefined; readonly prefix?: string | undefined } = {}
): Effect.Effect<ReadonlyArray<RunnerInfo>, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const seconds = Duration.toSeconds(options.maxAge ?? Duration.seconds(30))
    const rows = yield* sql<{ address: string; program: string; model: string; concurrency: number }>`
      SELECT address, program, model, concurrency FROM ${sql(Tables.names(options.prefix).runners)}
      WHERE last_seen > now() - make_interval(secs => ${seconds}) ORDER BY address`
    return rows.map((row) => ({ address: row.address, program: row.program, model: row.model, concurrency: Number(row.concurrency) }))
  })
