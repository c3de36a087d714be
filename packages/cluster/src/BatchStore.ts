/**
 * The batches of a cluster and their results in PostgreSQL. A result row is keyed by
 * (batch id, item id) and written with an idempotent insert: the first writer wins and every
 * later one (an item run again after its runner died, a coordinator re-run) gets the stored
 * record back, so an item has exactly one result however often it was delivered.
 *
 * A batch row remembers what a re-run must reuse: the program, the number of lanes (entity
 * ids derive from it), and the generation, which `retryFailed` bumps so that failed items are
 * sent again as new messages rather than answered from the cluster's stored replies.
 *
 * @since 0.2.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Tables from "./Tables.js"

/**
 * A batch as recorded.
 *
 * @since 0.2.0
 */
export interface Batch {
  readonly batchId: string
  readonly program: string
  readonly lanes: number
  readonly generation: number
  /** Items of the input, once a coordinator has read it to the end. */
  readonly total: number | undefined
  readonly createdAt: Date
  readonly finishedAt: Date | undefined
}

/**
 * A batch with its result counts.
 *
 * @since 0.2.0
 */
export interface BatchWithCounts extends Batch {
  readonly succeeded: number
  readonly failed: number
}

/**
 * One result to store.
 *
 * @since 0.2.0
 */
export interface Result {
  readonly batchId: string
  readonly itemId: string
  readonly index: number
  readonly status: "success" | "failure"
  /** The outcome's JSON line (without the newline). */
  readonly record: string
  /** Who wrote it: a runner's address, or `coordinator`. */
  readonly writtenBy: string
}

/**
 * A batch id was started with another program.
 *
 * @since 0.2.0
 */
export class BatchMismatch extends Schema.TaggedError<BatchMismatch>("@effect-dspy/cluster/BatchMismatch")("BatchMismatch", {
  batchId: Schema.String,
  recorded: Schema.String,
  requested: Schema.String
}) {
  override get message(): string {
    return `batch ${this.batchId} was started with program ${this.recorded}, not ${this.requested}: use another --batch-id, or the same program`
  }
}

/**
 * The store's operations.
 *
 * @since 0.2.0
 */
export interface Service {
  /** Records a new batch, or returns the existing one (which must have the same program). */
  readonly open: (batchId: string, options: { readonly program: string; readonly lanes: number }) => Effect.Effect<Batch, BatchMismatch | SqlError.SqlError>
  readonly get: (batchId: string) => Effect.Effect<Option.Option<Batch>, SqlError.SqlError>
  /** Every batch with its counts, newest first. */
  readonly list: Effect.Effect<ReadonlyArray<BatchWithCounts>, SqlError.SqlError>
  /** Deletes the batch's failed results and, if there were any, bumps its generation; the number deleted. */
  readonly retryFailed: (batchId: string) => Effect.Effect<number, SqlError.SqlError>
  /** Records the input's size and, when every item has a result, the end of the batch. */
  readonly finish: (batchId: string, total: number) => Effect.Effect<void, SqlError.SqlError>
  /**
   * Inserts a result unless the item has one; the record stored (this one or the earlier one).
   * A result of a batch that is no longer recorded (cleaned up) is not stored; its record is returned.
   */
  readonly insertResult: (result: Result) => Effect.Effect<string, SqlError.SqlError>
  readonly findResult: (batchId: string, itemId: string) => Effect.Effect<Option.Option<string>, SqlError.SqlError>
  /** The batch's results in item id order, read page by page. */
  readonly results: (batchId: string) => Stream.Stream<{ readonly itemId: string; readonly record: string }, SqlError.SqlError>
  readonly counts: (batchId: string) => Effect.Effect<{ readonly succeeded: number; readonly failed: number }, SqlError.SqlError>
}

/**
 * The store.
 *
 * @since 0.2.0
 */
export class BatchStore extends Context.Tag("@effect-dspy/cluster/BatchStore")<BatchStore, Service>() {}

interface BatchRow {
  readonly batch_id: string
  readonly program: string
  readonly lanes: number
  readonly generation: number
  readonly total: number | null
  readonly created_at: Date
  readonly finished_at: Date | null
}

const toBatch = (row: BatchRow): Batch => ({
  batchId: row.batch_id,
  program: row.program,
  lanes: Number(row.lanes),
  generation: Number(row.generation),
  total: row.total === null ? undefined : Number(row.total),
  createdAt: row.created_at,
  finishedAt: row.finished_at ?? undefined
})

const pageSize = 1000

/** PostgreSQL's foreign_key_violation (SQLSTATE 23503). */
const isForeignKeyViolation = (error: SqlError.SqlError): boolean =>
  Predicate.hasProperty(error.cause, "code") && error.cause.code === "23503"

/**
 * Makes the store (the tables must exist: `Tables.ensure`).
 *
 * @since 0.2.0
 */
export const make = (options: { readonly prefix?: string | undefined } = {}): Effect.Effect<Service, never, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const t = names(options.prefix)
    const batches = sql(t.batches)
    const results = sql(t.results)

    const get = (batchId: string) =>
      Effect.map(
        sql<BatchRow>`SELECT * FROM ${batches} WHERE batch_id = ${batchId}`,
        (rows) => Option.map(Option.fromNullable(rows[0]), toBatch)
      )

    const counts = (batchId: string) =>
      Effect.map(
        sql<{ status: string; n: string }>`SELECT status, count(*) AS n FROM ${results} WHERE batch_id = ${batchId} GROUP BY status`,
        (rows) => ({
          succeeded: Number(rows.find((r) => r.status === "success")?.n ?? 0),
          failed: Number(rows.find((r) => r.status === "failure")?.n ?? 0)
        })
      )

    return {
      open: (batchId, o) =>
        Effect.gen(function*() {
          yield* sql`
            INSERT INTO ${batches} (batch_id, program, lanes) VALUES (${batchId}, ${o.program}, ${o.lanes})
            ON CONFLICT (batch_id) DO NOTHING`
          const batch = yield* get(batchId)
          if (Option.isNone(batch)) return yield* Effect.dieMessage(`batch ${batchId} vanished after its insert`)
          if (batch.value.program !== o.program) {
            return yield* new BatchMismatch({ batchId, recorded: batch.value.program, requested: o.program })
          }
          return batch.value
        }),
      get,
      list: Effect.map(
        sql<BatchRow & { succeeded: string; failed: string }>`
          SELECT b.*,
            (SELECT count(*) FROM ${results} r WHERE r.batch_id = b.batch_id AND r.status = 'success') AS succeeded,
            (SELECT count(*) FROM ${results} r WHERE r.batch_id = b.batch_id AND r.status = 'failure') AS failed
          FROM ${batches} b ORDER BY b.created_at DESC`,
        (rows) => rows.map((row) => ({ ...toBatch(row), succeeded: Number(row.succeeded), failed: Number(row.failed) }))
      ),
      retryFailed: (batchId) =>
        sql.withTransaction(Effect.gen(function*() {
          const deleted = yield* sql<{ item_id: string }>`
            DELETE FROM ${results} WHERE batch_id = ${batchId} AND status = 'failure' RETURNING item_id`
          // a new generation only when something runs again: items still in flight from an
          // earlier run keep being joined by their key
          if (deleted.length > 0) {
            yield* sql`UPDATE ${batches} SET generation = generation + 1, finished_at = NULL WHERE batch_id = ${batchId}`
          }
          return deleted.length
        })),
      finish: (batchId, total) =>
        sql`
          UPDATE ${batches} SET total = ${total},
            finished_at = CASE
              WHEN (SELECT count(*) FROM ${results} WHERE batch_id = ${batchId}) >= ${total} THEN coalesce(finished_at, now())
              ELSE NULL END
          WHERE batch_id = ${batchId}`.pipe(Effect.asVoid),
      insertResult: (r) =>
        Effect.flatMap(
          sql<{ record: string }>`
            INSERT INTO ${results} (batch_id, item_id, item_index, status, record, written_by)
            VALUES (${r.batchId}, ${r.itemId}, ${r.index}, ${r.status}, ${r.record}, ${r.writtenBy})
            ON CONFLICT (batch_id, item_id) DO NOTHING
            RETURNING record`.pipe(
            // the batch is gone (cleaned up while the item was in flight): nothing to store it in
            Effect.catchIf(isForeignKeyViolation, () => Effect.succeed([{ record: r.record }]))
          ),
          (inserted) =>
            inserted.length > 0
              ? Effect.succeed(r.record)
              : Effect.map(
                sql<{ record: string }>`SELECT record FROM ${results} WHERE batch_id = ${r.batchId} AND item_id = ${r.itemId}`,
                // (a row deleted in between, by retryFailed: this one stands)
                (rows) => rows[0]?.record ?? r.record
              )
        ),
      findResult: (batchId, itemId) =>
        Effect.map(
          sql<{ record: string }>`SELECT record FROM ${results} WHERE batch_id = ${batchId} AND item_id = ${itemId}`,
          (rows) => Option.map(Option.fromNullable(rows[0]), (row) => row.record)
        ),
      results: (batchId) =>
        Stream.paginateEffect(undefined as string | undefined, (after) =>
          Effect.map(
            after === undefined
              ? sql<{ item_id: string; record: string }>`
                  SELECT item_id, record FROM ${results} WHERE batch_id = ${batchId} ORDER BY item_id LIMIT ${pageSize}`
              : sql<{ item_id: string; record: string }>`
                  SELECT item_id, record FROM ${results} WHERE batch_id = ${batchId} AND item_id > ${after}
                  ORDER BY item_id LIMIT ${pageSize}`,
            (rows) => {
              const page = rows.map((row) => ({ itemId: row.item_id, record: row.record }))
              const last = rows[rows.length - 1]
              return [page, rows.length < pageSize || last === undefined ? Option.none() : Option.some(last.item_id)] as const
            }
          )).pipe(Stream.mapConcat((page) => page)),
      counts
    } satisfies Service
  })

const names = (prefix: string | undefined) => Tables.names(prefix)

/**
 * The store as a layer.
 *
 * @since 0.2.0
 */
export const layer = (options: { readonly prefix?: string | undefined } = {}): Layer.Layer<BatchStore, never, SqlClient.SqlClient> =>
  Layer.effect(BatchStore, make(options))
