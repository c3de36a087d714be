/**
 * Operating a cluster's database: what batches and runners there are (`status`), a batch's
 * results written out as JSON lines (`exportResults`), and `cleanup`, which deletes finished
 * batches: their results, their rows in `@effect/cluster`'s message and reply tables, and the
 * batch itself. Export first: cleanup deletes the only copy the cluster keeps.
 *
 * @since 0.2.0
 */
import * as Checkpoint from "@effect-dspy/batch/Checkpoint"
import * as Outcome from "@effect-dspy/batch/Outcome"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as os from "node:os"
import * as BatchStore from "./BatchStore.js"
import * as CoordinatorLease from "./CoordinatorLease.js"
import * as ItemEntity from "./ItemEntity.js"
import * as RunnerRegistry from "./RunnerRegistry.js"
import * as Tables from "./Tables.js"

/**
 * The state of a cluster.
 *
 * @since 0.2.0
 */
export interface Status {
  readonly batches: ReadonlyArray<BatchStore.BatchWithCounts>
  readonly runners: ReadonlyArray<RunnerRegistry.RunnerInfo>
}

/**
 * Batches (newest first) and live runners.
 *
 * @since 0.2.0
 */
export const status: Effect.Effect<Status, SqlError.SqlError, BatchStore.BatchStore | SqlClient.SqlClient> = Effect.gen(function*() {
  const store = yield* BatchStore.BatchStore
  return { batches: yield* store.list, runners: yield* RunnerRegistry.live() }
})

/**
 * A batch id that is not in the database.
 *
 * @since 0.2.0
 */
export class UnknownBatch extends Schema.TaggedError<UnknownBatch>("@effect-dspy/cluster/UnknownBatch")("UnknownBatch", {
  batchId: Schema.String
}) {
  override get message(): string {
    return `no batch ${this.batchId} in this cluster's database`
  }
}

/**
 * Writes a batch's stored results to a JSON lines file (appending; results whose item id is
 * already in the file are skipped). The number of lines written.
 *
 * @since 0.2.0
 */
export const exportResults = (
  batchId: string,
  output: string
): Effect.Effect<
  number,
  UnknownBatch | Checkpoint.CheckpointError | Checkpoint.WriteError | SqlError.SqlError,
  BatchStore.BatchStore | FileSystem.FileSystem | Path.Path
> =>
  Effect.scoped(Effect.gen(function*() {
    const store = yield* BatchStore.BatchStore
    if (Option.isNone(yield* store.get(batchId))) return yield* new UnknownBatch({ batchId })
    const checkpoint = yield* Checkpoint.open(output)
    const decode = Schema.decodeUnknownEither(Schema.parseJson(Outcome.Record))
    let written = 0
    yield* store.results(batchId).pipe(
      Stream.runForEach(({ itemId, record }) =>
        Effect.suspend(() => {
          if (checkpoint.isDone(itemId)) return Effect.void
          const decoded = decode(record)
          if (Either.isLeft(decoded)) return Effect.logWarning(`the stored result of item ${itemId} is not a record; skipped`)
          written++
          return checkpoint.append(decoded.right)
        })
      )
    )
    return written
  }))

/**
 * What to clean up.
 *
 * @since 0.2.0
 */
export interface CleanupOptions {
  /** These batches. */
  readonly batchIds?: ReadonlyArray<string> | undefined
  /** Every finished batch. */
  readonly finished?: boolean | undefined
  /** Also batches that are not finished (their items in flight are dropped). Default false. */
  readonly force?: boolean | undefined
  /** Count what would go, delete nothing. Default false. */
  readonly dryRun?: boolean | undefined
}

/**
 * What cleanup did to one batch.
 *
 * @since 0.2.0
 */
export interface Cleaned {
  readonly batchId: string
  readonly finished: boolean
  readonly results: number
  readonly messages: number
  readonly replies: number
  /** Why it was left alone, if it was. */
  readonly skipped: string | undefined
}

/**
 * Deletes finished batches (or the named ones) with their results and cluster messages.
 *
 * @since 0.2.0
 */
export const cleanup = (
  options: CleanupOptions
): Effect.Effect<ReadonlyArray<Cleaned>, UnknownBatch | SqlError.SqlError, BatchStore.BatchStore | SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const store = yield* BatchStore.BatchStore
    const selected: Array<BatchStore.Batch> = []
    for (const batchId of options.batchIds ?? []) {
      const batch = yield* store.get(batchId)
      if (Option.isNone(batch)) return yield* new UnknownBatch({ batchId })
      selected.push(batch.value)
    }
    if (options.finished === true) {
      for (const batch of yield* store.list) {
        if (batch.finishedAt !== undefined && !selected.some((b) => b.batchId === batch.batchId)) selected.push(batch)
      }
    }
    const out: Array<Cleaned> = []
    for (const batch of selected) {
      out.push(yield* Effect.scoped(cleanOne(batch, options)))
    }
    return out
  })

/** One batch, under its lease: a batch a coordinator is running is left alone, even with `force`. */
const cleanOne = (batch: BatchStore.Batch, options: CleanupOptions) =>
  Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const t = Tables.names()
    const messages = sql("cluster_messages")
    const replies = sql("cluster_replies")
    const busy = yield* CoordinatorLease.acquire(batch.batchId, { owner: `cleanup on ${os.hostname()}:${globalThis.process.pid}` }).pipe(
      Effect.as(undefined),
      Effect.catchTag("BatchBusy", (error) => Effect.succeed(error.holder ?? "holder unknown"))
    )
    const finished = batch.finishedAt !== undefined
    const prefix = `${batch.batchId}/`
    const owned = sql`entity_type = ${ItemEntity.entityType} AND starts_with(entity_id, ${prefix})`
    const counted = yield* sql<{ results: string; messages: string; replies: string }>`
      SELECT
        (SELECT count(*) FROM ${sql(t.results)} WHERE batch_id = ${batch.batchId}) AS results,
        (SELECT count(*) FROM ${messages} WHERE ${owned}) AS messages,
        (SELECT count(*) FROM ${replies} WHERE request_id IN (SELECT request_id FROM ${messages} WHERE ${owned})) AS replies`
    const row = counted[0]
    const counts = { results: Number(row?.results ?? 0), messages: Number(row?.messages ?? 0), replies: Number(row?.replies ?? 0) }
    const skipped = busy !== undefined
      ? `a coordinator is running it (${busy})`
      : !finished && options.force !== true
      ? "not finished (run it to the end, or --force)"
      : options.dryRun === true
      ? "dry run"
      : undefined
    if (skipped === undefined) {
      yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`DELETE FROM ${replies} WHERE request_id IN (SELECT request_id FROM ${messages} WHERE ${owned})`
        yield* sql`DELETE FROM ${messages} WHERE ${owned}`
        yield* sql`DELETE FROM ${sql(t.results)} WHERE batch_id = ${batch.batchId}`
        yield* sql`DELETE FROM ${sql(t.batches)} WHERE batch_id = ${batch.batchId}`
      }))
    }
    return { batchId: batch.batchId, finished, ...counts, skipped } satisfies Cleaned
  })
