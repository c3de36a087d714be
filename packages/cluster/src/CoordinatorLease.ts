/**
 * One coordinator per batch at a time. Two coordinators of one batch would both write every
 * result to their outputs (one output file written twice over when they share it), and one's
 * `retryFailed` would delete failures the other is still writing; so the second one is refused.
 *
 * The lease is a session-level advisory lock, held on a connection of its own:
 *
 * - A coordinator that dies (even SIGKILL) frees its batch at once: its connection closes and
 *   PostgreSQL releases the lock, so running the same command again resumes without waiting.
 * - A machine that vanishes without closing its connection frees it within about 30 s: the
 *   lease's connection asks the server for TCP keepalives (15 s idle, 3 probes 5 s apart).
 * - A database restart drops every session: the holder gets its lease back as soon as the
 *   database answers again (with backoff, for up to `retry`). Should another coordinator have
 *   taken the batch meanwhile, the holder's `lost` fails with `LeaseLost` and it stops.
 *
 * The holder writes `host:pid` in the batch's row, so that a refused coordinator can say who
 * holds the batch.
 *
 * @since 0.2.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Tables from "./Tables.js"

/**
 * Another coordinator is running the batch.
 *
 * @since 0.2.0
 */
export class BatchBusy extends Schema.TaggedError<BatchBusy>("@effect-dspy/cluster/BatchBusy")("BatchBusy", {
  batchId: Schema.String,
  holder: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `batch ${this.batchId} is being run by another coordinator (${this.holder ?? "holder unknown"}): ` +
      "wait for it to end or stop it, then run this command again (two coordinators of one batch would both write every result)"
  }
}

/**
 * The lease was lost: while the database was away, another coordinator took the batch.
 *
 * @since 0.2.0
 */
export class LeaseLost extends Schema.TaggedError<LeaseLost>("@effect-dspy/cluster/LeaseLost")("LeaseLost", {
  batchId: Schema.String,
  holder: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `batch ${this.batchId} was taken over by another coordinator (${this.holder ?? "holder unknown"}) while the database was away: ` +
      "this one stops; the other writes the results"
  }
}

/**
 * A held lease.
 *
 * @since 0.2.0
 */
export interface Lease {
  /** Fails when the lease is lost (or cannot be got back within `retry`); never succeeds. */
  readonly lost: Effect.Effect<never, LeaseLost | SqlError.SqlError>
}

/**
 * Options of `acquire`.
 *
 * @since 0.2.0
 */
export interface Options {
  /** Who is asking, shown to a refused coordinator. */
  readonly owner: string
  /** How often the lease's connection is checked. Default 2 s. */
  readonly checkInterval?: Duration.DurationInput | undefined
  /** How long to keep trying to get the lease back after the database went away. Default 10 minutes. */
  readonly retry?: Duration.DurationInput | undefined
  /** Prefix of our tables. Default `effect_dspy`. */
  readonly prefix?: string | undefined
}

/** The first key of our advisory locks ("edsp"); the second is the batch id's hash. */
const lockClass = 0x65647370

/**
 * Takes the batch's lease for the scope; fails with `BatchBusy` when another coordinator holds it.
 *
 * @since 0.2.0
 */
export const acquire = (
  batchId: string,
  options: Options
): Effect.Effect<Lease, BatchBusy | SqlError.SqlError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const batches = Tables.names(options.prefix).batches
    const interval = Duration.decode(options.checkInterval ?? Duration.seconds(2))
    const claimed = yield* Deferred.make<void>()
    let held = false

    const holder = Effect.map(
      sql<{ coordinator: string | null }>`SELECT coordinator FROM ${sql(batches)} WHERE batch_id = ${batchId}`,
      (rows) => rows[0]?.coordinator ?? undefined
    ).pipe(Effect.orElseSucceed(() => undefined))
    // statements for the lease's own connection
    const setHolder = (owner: string | null) =>
      (owner === null
        ? sql`UPDATE ${sql(batches)} SET coordinator = NULL WHERE batch_id = ${batchId} AND coordinator = ${options.owner}`
        : sql`UPDATE ${sql(batches)} SET coordinator = ${owner} WHERE batch_id = ${batchId}`).compile()

    // One session: the lock on a connection of its own, checked until the connection fails.
    // `false` when another session holds the lock.
    const session: Effect.Effect<false, SqlError.SqlError> = Effect.scoped(Effect.gen(function*() {
      // Uninterruptible: `@effect/sql-pg` 0.53's `reserve` has no canceller, so a fiber
      // interrupted while the pool connects leaks the connection it then gets (the pool's
      // `end` waits for it forever and its socket keeps the process alive).
      const connection = yield* Effect.uninterruptible(sql.reserve)
      yield* connection.executeRaw(
        "SELECT set_config('tcp_keepalives_idle', '15', false), set_config('tcp_keepalives_interval', '5', false), " +
          "set_config('tcp_keepalives_count', '3', false)",
        []
      )
      const locked = yield* connection.executeValues("SELECT pg_try_advisory_lock($1::int4, hashtext($2))", [lockClass, batchId])
      if (locked[0]?.[0] !== true) return false as const
      yield* Effect.addFinalizer(() =>
        connection.executeRaw(...setHolder(null)).pipe(
          Effect.zipRight(connection.executeRaw("SELECT pg_advisory_unlock($1::int4, hashtext($2))", [lockClass, batchId])),
          Effect.timeout("2 seconds"),
          Effect.ignore
        )
      )
      yield* connection.executeRaw(...setHolder(options.owner))
      if (held) yield* Effect.logInfo(`batch ${batchId}: the lease is held again`)
      held = true
      yield* Deferred.succeed(claimed, undefined)
      return yield* connection.executeRaw("SELECT 1", []).pipe(Effect.delay(interval), Effect.forever)
    }))

    const refused = (who: string | undefined): BatchBusy | LeaseLost =>
      held ? new LeaseLost({ batchId, holder: who }) : new BatchBusy({ batchId, holder: who })
    const keeper: Effect.Effect<never, BatchBusy | LeaseLost | SqlError.SqlError> = session.pipe(
      Effect.tapError((error) =>
        held
          ? Effect.logWarning(`batch ${batchId}: the lease's connection failed (${error.message}); getting it back`)
          : Effect.void
      ),
      Effect.retry(
        Schedule.exponential("200 millis", 2).pipe(
          Schedule.union(Schedule.spaced("5 seconds")),
          Schedule.upTo(options.retry ?? Duration.minutes(10))
        )
      ),
      Effect.zipRight(holder),
      Effect.flatMap((who) => Effect.fail(refused(who)))
    )

    const fiber = yield* Effect.forkScoped(keeper)
    yield* Effect.raceFirst(
      Deferred.await(claimed),
      // (before the lease was first held, a refusal is a BatchBusy)
      Effect.catchTag(Fiber.join(fiber), "LeaseLost", (lost) => new BatchBusy({ batchId, holder: lost.holder }))
    )
    return {
      lost: Fiber.join(fiber).pipe(
        // (only a session that never held the lease is refused with BatchBusy)
        Effect.catchTag("BatchBusy", (busy) => new LeaseLost({ batchId, holder: busy.holder }))
      )
    }
  })
