/**
 * The coordinator of a distributed batch: reads a JSONL or CSV file, sends its items to the
 * cluster's runners, and writes the outcomes to the same JSON lines output, with the same
 * statistics, progress and summary as the single-process `Batch.runFile`. It is a client-only
 * member of the cluster: it serves nothing and can stop and start again at any time.
 *
 * - Resumable by batch id: the results table is the checkpoint. Started again with the same
 *   batch id, it first writes to the output the results stored since (those of items that
 *   finished while it was away), then sends only the items with no result. An item still in
 *   flight from the first run is joined, not sent twice (its message has the same key).
 * - Bounded: at most `window` items are in flight at once (`@effect/cluster` 0.60 reads every
 *   unprocessed message of a runner's shards at once, so an unbounded send would put the whole
 *   batch in the runners' memory).
 * - Exactly one result per item: runners store each outcome with an idempotent insert before
 *   answering; the inputs that cannot be read are stored here, the same way.
 * - A database that goes away is waited for with backoff, up to `databaseRetry`.
 *
 * @since 0.2.0
 */
import * as BatchMetrics from "@effect-dspy/batch/BatchMetrics"
import * as Checkpoint from "@effect-dspy/batch/Checkpoint"
import * as Input from "@effect-dspy/batch/Input"
import * as Outcome from "@effect-dspy/batch/Outcome"
import type * as Programs from "@effect-dspy/batch/Programs"
import type { MailboxFull, PersistenceError, AlreadyProcessingMessage } from "@effect/cluster/ClusterError"
import type * as Sharding from "@effect/cluster/Sharding"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as os from "node:os"
import * as BatchStore from "./BatchStore.js"
import * as Cluster from "./Cluster.js"
import * as CoordinatorLease from "./CoordinatorLease.js"
import { encoder } from "./internal/signatureCodec.js"
import * as ItemEntity from "./ItemEntity.js"
import * as RunnerRegistry from "./RunnerRegistry.js"
import * as Tables from "./Tables.js"

/**
 * Options of a distributed run.
 *
 * @since 0.2.0
 */
export interface Options {
  /** Names the batch: run it again with the same id to resume it. */
  readonly batchId: string
  /** A JSONL or CSV file of inputs. */
  readonly input: string
  /** The output JSONL file: outcomes are appended; lines already there are kept. */
  readonly output: string
  /** The program as given (a built-in name or a module file); the runners must serve it. */
  readonly program: string
  /** The program itself, when at hand: its signature checks the inputs before they are sent. */
  readonly module?: Programs.Runnable | undefined
  readonly format?: Input.Format | undefined
  /** The field holding an item's id (default `id`; else the line number). */
  readonly idField?: string | undefined
  /** Most items in flight at once. Default: twice the live runners' total concurrency (at least 16; 64 when no runner is up yet). */
  readonly window?: number | undefined
  /** Entities per batch (a new batch only: a resumed one keeps its own). Default 1024. */
  readonly lanes?: number | undefined
  /** Run again the items whose result is a failure. Default false. */
  readonly retryFailed?: boolean | undefined
  /** Count the input first, so that progress knows the total. Default true. */
  readonly countInput?: boolean | undefined
  /** Where statistics go; by default a fresh recorder. */
  readonly recorder?: BatchMetrics.Recorder | undefined
  /** How long one send may keep failing on the database before the run gives up. Default 10 minutes. */
  readonly databaseRetry?: Duration.DurationInput | undefined
}

/**
 * The summary of a distributed run.
 *
 * @since 0.2.0
 */
export interface Summary extends BatchMetrics.Summary {
  readonly batchId: string
  readonly output: string
  /** Results found in the database and written to the output at the start. */
  readonly exported: number
  /** Whether every item of the input now has a result. */
  readonly complete: boolean
  /** The runners alive at the start (`concurrency` is their total; `efficiency` is relative to it). */
  readonly runners: ReadonlyArray<RunnerRegistry.RunnerInfo>
}

/**
 * The batch cannot run as asked (a bad batch id, runners serving another program).
 *
 * @since 0.2.0
 */
export class DistributedBatchError extends Schema.TaggedError<DistributedBatchError>("@effect-dspy/cluster/DistributedBatchError")(
  "DistributedBatchError",
  { reason: Schema.String }
) {
  override get message(): string {
    return this.reason
  }
}

/**
 * The cluster kept failing to take an item for longer than `databaseRetry`.
 *
 * @since 0.2.0
 */
export class ClusterUnavailable extends Schema.TaggedError<ClusterUnavailable>("@effect-dspy/cluster/ClusterUnavailable")(
  "ClusterUnavailable",
  { reason: Schema.String }
) {
  override get message(): string {
    return `the cluster's database kept failing: ${this.reason} (run the same command again to resume)`
  }
}

const decodeRecord = Schema.decodeUnknownEither(Schema.parseJson(Outcome.Record))

/** How this coordinator is named to a refused one. */
const coordinatorName = (): string => `${os.hostname()}:${globalThis.process.pid}`

/** The outcome a stored record stands for (for statistics). */
const outcomeOf = (record: Outcome.Record): Outcome.Outcome<unknown, unknown> => {
  const origin = { id: record.id, index: record.index, line: record.line }
  if (record.status === "success") {
    return {
      _tag: "Success",
      ...origin,
      input: record.input,
      output: record.output,
      usage: {
        inputTokens: record.usage.inputTokens,
        outputTokens: record.usage.outputTokens,
        totalTokens: record.usage.totalTokens,
        cachedInputTokens: record.usage.cachedInputTokens ?? 0,
        reasoningTokens: record.usage.reasoningTokens ?? 0,
        lmCalls: record.usage.lmCalls,
        cachedCalls: 0
      },
      latencyMillis: record.latencyMs,
      cached: record.cached
    }
  }
  return { _tag: "Failure", ...origin, input: record.input, raw: record.raw, error: record.error, latencyMillis: record.latencyMs }
}

/** Whether the item reached the model (for the latency statistics). */
const calledModel = (record: Outcome.Record): boolean =>
  record.status === "success" ? record.cached === undefined : record.latencyMs > 0

const failureRecord = (entry: Input.Entry<unknown>, error: Outcome.ItemError, input?: unknown): Outcome.Record =>
  Outcome.toRecord({
    _tag: "Failure",
    id: entry.id,
    index: entry.index,
    line: entry.line,
    input,
    raw: entry._tag === "Invalid" ? entry.raw : undefined,
    error,
    latencyMillis: 0
  })

/**
 * Runs a batch on the cluster: every item of the input ends as one line of the output (and one
 * row of the results table).
 *
 * @example
 * ```ts
 * import { DistributedBatch } from "@effect-dspy/cluster"
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 *
 * const program = DistributedBatch.run({ batchId: "questions-1", input: "items.jsonl", output: "results.jsonl", program: "qa" }).pipe(
 *   Effect.provide(DistributedBatch.layer({ database: { url: "postgres://postgres@127.0.0.1:5432/postgres" } })),
 *   Effect.provide(NodeContext.layer)
 * )
 * ```
 *
 * @since 0.2.0
 */
export const run = (
  options: Options
): Effect.Effect<
  Summary,
  | DistributedBatchError
  | ClusterUnavailable
  | Input.InputError
  | Checkpoint.CheckpointError
  | Checkpoint.WriteError
  | BatchStore.BatchMismatch
  | CoordinatorLease.BatchBusy
  | CoordinatorLease.LeaseLost,
  Sharding.Sharding | SqlClient.SqlClient | BatchStore.BatchStore | FileSystem.FileSystem | Path.Path
> =>
  Effect.scoped(Effect.gen(function*() {
    const batchId = options.batchId
    if (Either.isLeft(Schema.decodeUnknownEither(ItemEntity.BatchId)(batchId))) {
      return yield* new DistributedBatchError({
        reason: `bad batch id ${JSON.stringify(batchId)}: a batch id is 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`
      })
    }
    yield* Input.check(options.input)
    const path = yield* Path.Path
    if (path.resolve(options.input) === path.resolve(options.output)) {
      return yield* new Checkpoint.CheckpointError({ path: options.output, reason: "it is the input file" })
    }
    const program = ItemEntity.programKey(options.program)
    const retryBudget = Duration.decode(options.databaseRetry ?? Duration.minutes(10))
    const databaseSchedule = Schedule.exponential("200 millis", 2).pipe(
      Schedule.union(Schedule.spaced("5 seconds")),
      Schedule.upTo(retryBudget)
    )
    // A query of the run, through the database's bad moments (up to `databaseRetry`).
    const onDatabase = <A, E extends { readonly _tag: string }, R>(what: string, effect: Effect.Effect<A, E | SqlError.SqlError, R>) =>
      effect.pipe(
        Effect.tapError((error) =>
          error._tag === "SqlError" ? Effect.logWarning(`${what}: the database did not answer; trying again`) : Effect.void
        ),
        Effect.retry({ while: (error) => error._tag === "SqlError", schedule: databaseSchedule }),
        Effect.catchIf(
          (error): error is SqlError.SqlError => error._tag === "SqlError",
          (error) => new ClusterUnavailable({ reason: `${what}: ${error.message}` })
        )
      )
    const runners = yield* onDatabase("reading the runners", RunnerRegistry.live())
    const strangers = runners.filter((r) => r.program !== program)
    if (strangers.length > 0) {
      return yield* new DistributedBatchError({
        reason: `runner(s) ${strangers.map((r) => `${r.address} (program ${r.program})`).join(", ")} serve another program than ${program}: ` +
          "every runner of a cluster must serve the batch's program (they would fail its items)"
      })
    }
    if (runners.length === 0) {
      yield* Effect.logWarning(`no runner is up yet: the items wait in the database until one serving ${program} starts`)
    }
    const window = Math.max(
      1,
      Math.floor(options.window ?? (runners.length === 0 ? 64 : Math.max(16, 2 * runners.reduce((n, r) => n + r.concurrency, 0))))
    )
    const store = yield* BatchStore.BatchStore
    let batch = yield* onDatabase(
      "opening the batch",
      store.open(batchId, { program, lanes: Math.max(1, Math.floor(options.lanes ?? ItemEntity.defaultLanes)) })
    )
    // one coordinator per batch: a second one is refused here, before it touches anything
    const lease = yield* onDatabase(
      "taking the batch's lease",
      CoordinatorLease.acquire(batchId, { owner: coordinatorName(), retry: retryBudget })
    )
    if (options.retryFailed === true) {
      const retried = yield* onDatabase("clearing the failed results", store.retryFailed(batchId))
      if (retried > 0) {
        yield* Effect.logInfo(`${retried} failed item(s) of batch ${batchId} will run again`)
        batch = { ...batch, generation: batch.generation + 1 }
      }
    }
    const recorder = options.recorder ?? (yield* BatchMetrics.makeRecorder({ concurrency: window }))
    const checkpoint = yield* Checkpoint.open(options.output, { retryFailed: options.retryFailed })

    // Results stored since the output was last written (or ever, for a new output): written first.
    const done = new Set<string>()
    let exported = 0
    yield* onDatabase("reading the stored results", store.results(batchId).pipe(
      Stream.runForEach(({ itemId, record }) =>
        Effect.suspend(() => {
          // (read again from the start after a database error: what was written is skipped)
          if (done.has(itemId)) return Effect.void
          done.add(itemId)
          if (checkpoint.isDone(itemId)) return Effect.void
          const decoded = decodeRecord(record)
          if (Either.isLeft(decoded)) return Effect.logWarning(`the stored result of item ${itemId} is not a record; left out of the output`)
          exported++
          return checkpoint.append(decoded.right)
        })
      )
    ))
    if (options.countInput ?? true) yield* Effect.flatMap(Input.count(options.input, { format: options.format }), recorder.setTotal)

    const client = (yield* ItemEntity.ItemEntity.client)
    const encodeInput = encoder(options.module?.signature?.input)

    // One item to the cluster and back, through the database's bad moments.
    const send = (item: Input.Item<unknown>): Effect.Effect<string, ClusterUnavailable> =>
      client(ItemEntity.entityId(batchId, item.id, batch.lanes)).Process({
        batchId,
        generation: batch.generation,
        itemId: item.id,
        index: item.index,
        line: item.line ?? null,
        program,
        input: encodeInput(item.input)
      }).pipe(
        Effect.tapError((error: MailboxFull | AlreadyProcessingMessage | PersistenceError) =>
          Effect.logWarning(`item ${item.id}: ${error._tag}; sending again`)
        ),
        Effect.retry(databaseSchedule),
        Effect.mapError((error) => new ClusterUnavailable({ reason: `${error._tag}: ${error.message}` }))
      )

    // Stores a result decided here (an unreadable input, a defect answer), as runners do.
    const storeHere = (entry: Input.Entry<unknown>, record: Outcome.Record) =>
      store.insertResult({
        batchId,
        itemId: entry.id,
        index: entry.index,
        status: record.status,
        record: JSON.stringify(record),
        writtenBy: "coordinator"
      }).pipe(
        Effect.retry(databaseSchedule),
        Effect.mapError((error) => new ClusterUnavailable({ reason: error.message }))
      )

    const toRecord = (line: string, entry: Input.Entry<unknown>): Outcome.Record => {
      const decoded = decodeRecord(line)
      return Either.isRight(decoded)
        ? decoded.right
        : failureRecord(entry, { kind: "MalformedResult", message: `the runner's answer is not a result record: ${line.slice(0, 200)}` })
    }

    const process = (entry: Input.Entry<unknown>): Effect.Effect<Outcome.Record, ClusterUnavailable> => {
      if (entry._tag === "Invalid") {
        return Effect.map(storeHere(entry, failureRecord(entry, entry.error)), (line) => toRecord(line, entry))
      }
      return Effect.flatMap(Effect.exit(send(entry)), (exit): Effect.Effect<Outcome.Record, ClusterUnavailable> => {
        if (Exit.isSuccess(exit)) return Effect.succeed(toRecord(exit.value, entry))
        const failure = Cause.failureOption(exit.cause)
        if (failure._tag === "Some") return Effect.fail(failure.value)
        // The cluster answered with a defect (it could not deliver the item) or an interruption
        // (this fiber's own interruption never reaches this handler): a failure of the item,
        // stored, so that the run goes on and `--retry-failed` can run it again.
        const error = Cause.isInterruptedOnly(exit.cause)
          ? { kind: "ClusterInterrupted", message: "the runner answered with an interruption" }
          : { kind: "ClusterDefect", message: Outcome.errorOfCause(exit.cause).message }
        return Effect.map(storeHere(entry, failureRecord(entry, error, entry.input)), (line) => toRecord(line, entry))
      })
    }

    let items = 0
    // (the ids read are distinct: a duplicate is a failure entry of its own)
    const entries = Input.readFile(options.input, {
      format: options.format,
      idField: options.idField,
      signature: options.module?.signature
    }).pipe(
      Stream.filterEffect((entry) =>
        Effect.suspend(() => {
          items++
          if (done.has(entry.id) || checkpoint.isDone(entry.id)) return Effect.as(recorder.onResumed, false)
          return Effect.succeed(true)
        })
      )
    )

    yield* recorder.start
    const work = entries.pipe(
      Stream.mapEffect(
        (entry) =>
          Effect.zipRight(recorder.onItemStart, process(entry)).pipe(
            Effect.onInterrupt(() => recorder.onItemAbort),
            Effect.map((record) => [entry, record] as const)
          ),
        { concurrency: window, unordered: true }
      ),
      Stream.runForEach(([, record]) =>
        Effect.zipRight(
          checkpoint.append(record),
          Effect.suspend(() => {
            const outcome = outcomeOf(record)
            const calls = outcome._tag === "Success" ? outcome.usage.lmCalls : calledModel(record) ? 1 : 0
            return Effect.zipRight(
              Effect.repeatN(recorder.onLmCall, Math.max(0, calls - 1)).pipe(Effect.when(() => calls > 0)),
              recorder.onItemEnd(outcome, calledModel(record))
            )
          })
        )
      ),
      Effect.ensuring(recorder.finish)
    )
    // the run stops if another coordinator took the batch while the database was away
    yield* Effect.raceFirst(
      work,
      Effect.catchTag(lease.lost, "SqlError", (error) => new ClusterUnavailable({ reason: `keeping the batch's lease: ${error.message}` }))
    )
    yield* onDatabase("recording the end of the batch", store.finish(batchId, items))
    const counts = yield* onDatabase("counting the results", store.counts(batchId))
    const summary = yield* recorder.summary
    // the concurrency that bounds the run is the runners' (the window only keeps them fed)
    const capacity = runners.reduce((n, r) => n + r.concurrency, 0)
    const concurrency = capacity > 0 ? capacity : window
    return {
      ...summary,
      concurrency,
      efficiency: summary.speedup / concurrency,
      batchId,
      output: options.output,
      exported,
      complete: counts.succeeded + counts.failed >= items,
      runners
    }
  }))

/**
 * Everything `run` needs from the cluster: the database (tables created if missing), the
 * batch store and a client-only membership.
 *
 * @since 0.2.0
 */
export const layer = (options: {
  readonly database: Cluster.DatabaseOptions
  readonly settings?: Partial<Cluster.Settings> | undefined
}): Layer.Layer<
  Sharding.Sharding | SqlClient.SqlClient | BatchStore.BatchStore,
  Cluster.DatabaseUnavailable | SqlError.SqlError
> =>
  Layer.mergeAll(Cluster.clientLayer(options.settings), BatchStore.layer()).pipe(
    Layer.provide(Layer.effectDiscard(Tables.ensure())),
    Layer.provideMerge(Cluster.databaseLayer(options.database))
  )
