/**
 * Runs a module over many inputs: a `Stream` in, a `Stream` of outcomes out, in completion
 * order, each tagged with its input's id and position. At most `concurrency` items run at once
 * and inputs are pulled lazily, so memory stays flat whatever the input size.
 *
 * - De-duplication: identical inputs in one run call the model once (the others wait for the
 *   first and share its result); with a `Cache.Store`, results survive across runs.
 * - `maxErrors`: when more items than that have failed, in-flight items are interrupted, no new
 *   one starts, and the rest of the input is counted as not attempted.
 * - Run-level failures: a run that cannot succeed stops instead of spending the input. The first
 *   item refused for its credentials (HTTP 401/403) or for an exhausted quota, or
 *   `maxConsecutiveConnectionFailures` items in a row that could not reach the server, stop the
 *   run with `RunFailed`; those items get no outcome (they are not attempted, and a resumed
 *   file run tries them again).
 * - Rate limits: provide a `RateControl` as the model's limiter (see `RateControl`): requests
 *   keep to the buckets and the adaptive concurrency; the model's retry policy (`Resilience`)
 *   retries a 429 after the server's reset. Every retry is `Resilience`'s; `retryBudget` bounds
 *   the retries of one item across all its calls.
 * - `runFile` adds the file side: JSONL/CSV input, an output file that is also the checkpoint
 *   (resume after any crash), and a summary.
 *
 * @since 0.1.0
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Module from "@effect-dspy/core/Module"
import * as Resilience from "@effect-dspy/providers/Resilience"
import type * as Signature from "@effect-dspy/core/Signature"
import * as Usage from "@effect-dspy/core/Usage"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Mailbox from "effect/Mailbox"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as BatchMetrics from "./BatchMetrics.js"
import type * as Cache from "./Cache.js"
import * as Cache_ from "./Cache.js"
import * as Checkpoint from "./Checkpoint.js"
import * as Input from "./Input.js"
import * as Outcome from "./Outcome.js"
import * as RateControl from "./RateControl.js"

/**
 * An item took longer than `itemTimeout`.
 *
 * @since 0.1.0
 */
export class ItemTimeout extends Schema.TaggedError<ItemTimeout>("@effect-dspy/batch/ItemTimeout")("ItemTimeout", {
  afterMillis: Schema.Number
}) {
  override get message(): string {
    return `the item did not finish within ${this.afterMillis} ms`
  }
}

/**
 * The run stopped because the model cannot serve it: the provider refused the credentials
 * (`Authentication`), the account is out of quota (`QuotaExceeded`), or items in a row could not
 * reach the server (`Unreachable`). The items that failed so get no outcome (they are counted as
 * not attempted), so that a resumed file run tries them again once the cause is fixed.
 *
 * @since 0.2.0
 */
export class RunFailed extends Schema.TaggedError<RunFailed>("@effect-dspy/batch/RunFailed")("RunFailed", {
  reason: Schema.Literal("Authentication", "QuotaExceeded", "Unreachable"),
  /** The error of the last item that failed so (its message has credentials hidden). */
  error: Schema.Struct({ kind: Schema.String, message: Schema.String, status: Schema.optional(Schema.Number) }),
  /** How many items in a row failed so. */
  items: Schema.Number
}) {
  override get message(): string {
    const status = this.error.status === undefined ? "" : ` (HTTP ${this.error.status})`
    switch (this.reason) {
      case "Authentication":
        return `the server refused the API key${status}: ${this.error.message}`
      case "QuotaExceeded":
        return `the account is out of quota or credit${status}: ${this.error.message}`
      case "Unreachable":
        return `cannot reach the model server (${this.items} item(s) in a row failed to connect): ${this.error.message}`
    }
  }
}

/** Whether an item error stops the run, and why. */
const runLevel = (error: Outcome.ItemError): RunFailed["reason"] | "connection" | undefined => {
  switch (error.kind) {
    case "Authentication":
      return "Authentication"
    case "QuotaExceeded":
      return "QuotaExceeded"
    case "ConnectionReset":
    case "Timeout":
      // no HTTP status: the server was not reached (or never answered)
      return error.status === undefined ? "connection" : undefined
    default:
      return undefined
  }
}

/**
 * Options of a run.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Most items processed at once. Default 10. */
  readonly concurrency?: number | undefined
  /** Stop when more items than this have failed. Default: never stop. */
  readonly maxErrors?: number | undefined
  /** Call the model once per distinct input in this run. Default true. */
  readonly dedupe?: boolean | undefined
  /**
   * How many finished results the in-run de-duplication remembers (the least recently used go
   * first). Default 10 000. A duplicate of a forgotten result calls the model again: the run
   * logs a warning the first time and counts them (`Summary.memoEvicted`). 0 remembers none
   * (only inputs in flight at once are shared).
   */
  readonly memoCapacity?: number | undefined
  /** A persistent result store (requires a module with a signature). */
  readonly cache?: Cache.Store | undefined
  /** Part of every cache key: the model id and settings, so that other models do not share results. */
  readonly cacheNamespace?: string | undefined
  /** Ids to skip (already finished, e.g. in the output file). */
  readonly skip?: ((id: string) => boolean) | undefined
  /** Where statistics go; by default a fresh recorder (read the summary from `runFile`/`run`). */
  readonly recorder?: BatchMetrics.Recorder | undefined
  /** Fail an item that takes longer than this (retries included). */
  readonly itemTimeout?: Duration.DurationInput | undefined
  /**
   * A retry budget for each item, shared by every model call the item makes (a module may call
   * the model several times): the model's retry policy (`Resilience`) asks it before each retry,
   * so an item never retries more than `maxRetries` times in all, nor starts a retry later than
   * `maxElapsed` after the item began. Default: only the policy's own per-call limits.
   */
  readonly retryBudget?: Resilience.BudgetOptions | undefined
  /**
   * Stop the run (`RunFailed`, `Unreachable`) when this many items in a row that called the model
   * failed without reaching the server (a connection refused or reset, a timeout without an
   * answer), with no success in between; also when the input ends with only such failures and no
   * success. Default 5; `Infinity` never stops. A refused key or an exhausted quota stops the run
   * at the first item.
   */
  readonly maxConsecutiveConnectionFailures?: number | undefined
}

/** How a result was obtained. */
type Result<O> =
  | { readonly _tag: "Ok"; readonly output: O; readonly usage: Usage.Usage; readonly cached: "memory" | "disk" | undefined }
  | { readonly _tag: "Err"; readonly error: Outcome.ItemError }

const isStream = (u: unknown): u is Stream.Stream<unknown, unknown, unknown> => Predicate.hasProperty(u, Stream.StreamTypeId)

// Schemas of a signature seen as plain values (signature fields require no services).
type Plain = Schema.Schema<unknown, unknown, never>
const plain = (schema: Signature.AnyStruct): Plain => schema as unknown as Plain

/** Encodes values with a signature's Schema, falling back to the value itself. */
const encoder = (schema: Signature.AnyStruct | undefined) => {
  if (schema === undefined) return (value: unknown): unknown => value
  const encode = Schema.encodeUnknownEither(plain(schema))
  return (value: unknown): unknown => Either.getOrElse(encode(value), () => value)
}

/** A language model that counts the calls made through it. */
const counting = (service: LanguageModel.Service, onCall: Effect.Effect<void>): LanguageModel.Service => ({
  generateText: (options) => Effect.zipRight(onCall, service.generateText(options)),
  generateObject: (options) => Effect.zipRight(onCall, service.generateObject(options)),
  streamText: (options) => Stream.unwrap(Effect.as(onCall, service.streamText(options)))
})

/**
 * In-run de-duplication: calls in flight by key, and a bounded memory of finished successes
 * (least recently used out). `remember` tells whether it had to forget one.
 */
const makeMemo = <O>(capacity: number) => {
  // `undefined` when the computing item was interrupted: a waiter then computes it itself
  const pending = new Map<string, Deferred.Deferred<Result<O> | undefined>>()
  const finished = new Map<string, Extract<Result<O>, { _tag: "Ok" }>>()
  const remember = (key: string, result: Extract<Result<O>, { _tag: "Ok" }>): boolean => {
    if (capacity <= 0) return false
    finished.delete(key)
    finished.set(key, result)
    if (finished.size <= capacity) return false
    const oldest = finished.keys().next()
    if (oldest.done !== true) finished.delete(oldest.value)
    return true
  }
  const recall = (key: string) => {
    const known = finished.get(key)
    if (known !== undefined) {
      // a hit counts as a use: it moves to the young end
      finished.delete(key)
      finished.set(key, known)
    }
    return known
  }
  return { pending, recall, remember }
}

/**
 * Runs a module over inputs and streams the outcomes as they finish. `inputs` is an array (or
 * iterable) of inputs, identified by position, or a stream of entries (see `Input`).
 *
 * @example
 * ```ts
 * import { Batch } from "@effect-dspy/batch"
 * import { Predict, Signature } from "@effect-dspy/core"
 * import { Effect, Stream } from "effect"
 *
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const outcomes = Batch.stream(qa, [{ question: "2 + 2?" }, { question: "3 + 3?" }], { concurrency: 4 })
 * const program = Stream.runForEach(outcomes, (o) => Effect.log(o.id, o._tag))
 * ```
 *
 * @since 0.1.0
 */
export const stream = <I, O, E, R, E2 = never, R2 = never>(
  module: Module.Module<I, O, E, R>,
  inputs: Iterable<I> | Stream.Stream<Input.Entry<I>, E2, R2>,
  options: Options = {}
): Stream.Stream<Outcome.Outcome<I, O>, E2 | RunFailed, R | R2> =>
  Stream.unwrapScoped(Effect.map(start(module, inputs, options), ({ finish, outcomes }) =>
    Stream.ensuring(Mailbox.toStream(outcomes), finish)))

/** A started run: its outcomes as they finish, and what to do once they are all taken. */
interface Started<I, O, E2> {
  readonly outcomes: Mailbox.ReadonlyMailbox<Outcome.Outcome<I, O>, E2 | RunFailed>
  readonly finish: Effect.Effect<void>
}

/**
 * Starts a run in the current scope (closing it stops the run). `stream` reads the outcomes as
 * a `Stream`; `run` and `runFile` take them straight from the mailbox (`forEachChunk`).
 */
const start = <I, O, E, R, E2, R2>(
  module: Module.Module<I, O, E, R>,
  inputs: Iterable<I> | Stream.Stream<Input.Entry<I>, E2, R2>,
  options: Options
): Effect.Effect<Started<I, O, E2>, never, R | R2 | Scope.Scope> =>
  Effect.gen(function*() {
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? 10))
    const rateControl = Option.getOrUndefined(yield* Effect.serviceOption(RateControl.RateControl))
    const recorder = options.recorder ?? (yield* BatchMetrics.makeRecorder({ concurrency, rateControl }))
    const signature = module.signature
    const encodeInput = encoder(signature?.input)
    const encodeOutput = encoder(signature?.output)
    const decodeOutput = signature === undefined ? undefined : Schema.decodeUnknownEither(plain(signature.output))
    const dedupe = options.dedupe ?? true
    // the disk cache stores encoded outputs; only a signature can decode them back
    const cache = decodeOutput === undefined ? undefined : options.cache
    if (options.cache !== undefined && cache === undefined) {
      yield* Effect.logWarning(`${module.name} has no signature: the persistent cache is not used`)
    }
    const prefix = dedupe || cache !== undefined ? Cache_.keyPrefix(module, options.cacheNamespace ?? "") : undefined
    const memoCapacity = Math.max(0, Math.floor(options.memoCapacity ?? 10_000))
    const memo = makeMemo<O>(memoCapacity)
    let warnedEviction = false
    const onEvict = Effect.suspend(() => {
      if (warnedEviction) return recorder.onMemoEvict
      warnedEviction = true
      return Effect.zipRight(
        recorder.onMemoEvict,
        Effect.logWarning(
          `the de-duplication memory is full (memoCapacity ${memoCapacity} results): the oldest are forgotten, and a later duplicate of one calls the model again`
        )
      )
    })
    const timeout = options.itemTimeout === undefined ? undefined : Duration.decode(options.itemTimeout)
    const maxConnectionFailures = Math.max(1, options.maxConsecutiveConnectionFailures ?? 5)
    const model = Option.getOrUndefined(yield* Effect.serviceOption(LanguageModel.LanguageModel))
    const countedModel = model === undefined ? undefined : counting(model, recorder.onLmCall)
    const stop = yield* Deferred.make<void>()
    let stopped = false
    let failures = 0

    // One call of the module, with the item's timeout; its failure becomes a typed item error.
    const call = (input: I): Effect.Effect<Result<O>, never, R> => {
      let effect: Effect.Effect<Result<O>, unknown, R> = Effect.map(
        module(input),
        (prediction): Result<O> => ({ _tag: "Ok", output: prediction.output, usage: prediction.usage, cached: undefined })
      )
      if (options.retryBudget !== undefined) effect = Resilience.withRetryBudget(options.retryBudget)(effect)
      if (timeout !== undefined) {
        effect = Effect.timeoutFail(effect, {
          duration: timeout,
          onTimeout: () => new ItemTimeout({ afterMillis: Duration.toMillis(timeout) })
        })
      }
      return Effect.flatMap(Effect.exit(effect), (exit): Effect.Effect<Result<O>> => {
        if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
        if (Cause.isInterruptedOnly(exit.cause)) return Effect.interrupt
        return Effect.succeed({ _tag: "Err", error: Outcome.errorOfCause(exit.cause) })
      })
    }

    // Looks the input up in the disk cache, else calls the module and stores its result.
    const viaDisk = (key: string, input: I): Effect.Effect<Result<O>, never, R> => {
      if (cache === undefined || decodeOutput === undefined) return call(input)
      return Effect.flatMap(cache.get(key), (hit) => {
        if (hit !== undefined) {
          const decoded = decodeOutput(hit.output)
          if (Either.isRight(decoded)) {
            return Effect.succeed<Result<O>>({ _tag: "Ok", output: decoded.right as O, usage: Usage.empty, cached: "disk" })
          }
        }
        return Effect.tap(call(input), (result) =>
          result._tag === "Ok"
            ? cache.set(key, {
              output: encodeOutput(result.output),
              usage: {
                inputTokens: result.usage.inputTokens,
                outputTokens: result.usage.outputTokens,
                totalTokens: result.usage.totalTokens,
                lmCalls: result.usage.lmCalls
              }
            }).pipe(Effect.catchAll((error) => Effect.logWarning(error.message)))
            : Effect.void)
      })
    }

    // De-duplicates by key: the first caller computes, the others wait and share.
    const viaMemo = (input: I): Effect.Effect<Result<O>, never, R> =>
      Effect.suspend((): Effect.Effect<Result<O>, never, R> => {
        if (prefix === undefined) return call(input)
        let key: string
        try {
          key = Cache_.key(prefix, encodeInput(input))
        } catch {
          // an input that has no JSON form (a bigint, a cycle) cannot be keyed: it just runs
          return call(input)
        }
        const known = memo.recall(key)
        if (known !== undefined) return Effect.succeed<Result<O>>({ ...known, usage: Usage.empty, cached: "memory" })
        const pending = dedupe ? memo.pending.get(key) : undefined
        if (pending !== undefined) {
          return Effect.flatMap(Deferred.await(pending), (r): Effect.Effect<Result<O>, never, R> =>
            r === undefined
              ? viaMemo(input)
              : Effect.succeed(r._tag === "Ok" ? { ...r, usage: Usage.empty, cached: r.cached ?? "memory" } : r))
        }
        if (!dedupe) return viaDisk(key, input)
        return Effect.flatMap(Deferred.make<Result<O> | undefined>(), (deferred) => {
          memo.pending.set(key, deferred)
          return viaDisk(key, input).pipe(
            Effect.onExit((exit) =>
              Effect.suspend(() => {
                memo.pending.delete(key)
                const evicted = Exit.isSuccess(exit) && exit.value._tag === "Ok" && memo.remember(key, exit.value)
                const done = Deferred.succeed(deferred, Exit.isSuccess(exit) ? exit.value : undefined)
                return evicted ? Effect.zipRight(onEvict, done) : done
              })
            )
          )
        })
      })

    // (plain callbacks rather than a generator: this runs once per item)
    const processItem = (item: Input.Item<I>) =>
      Effect.zipRight(
        recorder.onItemStart,
        Effect.clockWith((clock) => {
          const start = clock.unsafeCurrentTimeNanos()
          return Effect.map(viaMemo(item.input), (result) => {
            const latencyMillis = Number(clock.unsafeCurrentTimeNanos() - start) / 1e6
            const outcome: Outcome.Outcome<I, O> = result._tag === "Ok"
              ? { _tag: "Success", ...origin(item), input: item.input, output: result.output, usage: result.usage, latencyMillis, cached: result.cached }
              : { _tag: "Failure", ...origin(item), input: item.input, raw: undefined, error: result.error, latencyMillis }
            return { outcome, calledModel: result._tag === "Err" || result.cached === undefined }
          })
        })
      )

    // Finished outcomes go out through a bounded mailbox, in completion order; when it is full,
    // workers wait, and once the input buffer is full too, no more input is read.
    const mailbox = yield* Mailbox.make<Outcome.Outcome<I, O>, E2 | RunFailed>({ capacity: Math.max(16, concurrency) })
    // Entries read ahead of the workers (as many as there are workers), so that a worker whose
    // item ends takes the next one at once, without waiting for the reader (forking a fiber per
    // item after a semaphore hand-off left slots idle 3-4x longer between items in bench/efficiency).
    const pending = yield* Mailbox.make<Input.Entry<I>, E2>({ capacity: concurrency })
    const workers = yield* FiberSet.make<void, never>()

    // Run-level failures. Items that failed without reaching the server are held back (at most
    // `maxConnectionFailures - 1` of them): a success or another kind of failure shows the server
    // answers, and they go out as item failures; the limit reached, the run stops and they get
    // no outcome. (Only items that called the model count: a cached result says nothing of the
    // server.)
    let runFailure: RunFailed | undefined
    let held: Array<{ readonly outcome: Outcome.Failure<I>; readonly calledModel: boolean }> = []
    let connectionFailures = 0
    let modelSuccesses = 0
    const dropHeld = Effect.suspend(() => {
      const dropped = held.length
      held = []
      return Effect.forEach(Array.from({ length: dropped }), () => recorder.onItemAbort, { discard: true })
    })

    // if the consumer goes away, offers pending on a full mailbox must not hold up the teardown
    yield* Effect.addFinalizer(() => Effect.zipRight(Effect.zipRight(mailbox.shutdown, pending.shutdown), dropHeld))

    // Stops the run when failures exceed `maxErrors`: in-flight items are interrupted.
    const countFailure = (outcome: Outcome.Outcome<I, O>): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (outcome._tag === "Success") return Effect.void
        failures++
        if (options.maxErrors === undefined || failures <= options.maxErrors || stopped) return Effect.void
        stopped = true
        return Effect.zipRight(recorder.onStoppedEarly, Deferred.succeed(stop, undefined))
      })
    // Entries read ahead and never taken were not attempted.
    const countLeft = Effect.flatMap(
      Effect.orElseSucceed(pending.takeAll, () => [Chunk.empty<Input.Entry<I>>(), true] as const),
      ([left]) => Effect.forEach(left, () => recorder.onNotAttempted, { discard: true })
    )
    // the reader may be waiting to hand over an entry: the buffer is emptied for it
    yield* Effect.forkScoped(Deferred.await(stop).pipe(Effect.zipRight(FiberSet.clear(workers)), Effect.zipRight(countLeft)))

    // Stops the run for a run-level failure: in-flight items are interrupted.
    const trip = (reason: RunFailed["reason"], error: Outcome.ItemError, items: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        runFailure ??= new RunFailed({ reason, error, items })
        stopped = true
        return Deferred.succeed(stop, undefined)
      })

    // Hands an outcome over, in order: counted as finished once handed over.
    const emit = (outcome: Outcome.Outcome<I, O>, calledModel: boolean): Effect.Effect<void> =>
      mailbox.offer(outcome).pipe(
        Effect.zipRight(recorder.onItemEnd(outcome, calledModel)),
        Effect.zipRight(countFailure(outcome))
      )
    const emitHeld = Effect.suspend(() => {
      const flushed = held
      held = []
      return Effect.forEach(flushed, (h) => emit(h.outcome, h.calledModel), { discard: true })
    })

    // What becomes of a finished item: handed over, held back, or (a run-level failure) dropped.
    const settle = (outcome: Outcome.Outcome<I, O>, calledModel: boolean): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (runFailure !== undefined) {
          // stopping: what still finishes is kept (a success is paid for), but for more of the same
          const sameCause = outcome._tag === "Failure" && calledModel && runLevel(outcome.error) !== undefined
          return sameCause ? recorder.onItemAbort : emit(outcome, calledModel)
        }
        if (!calledModel) return emit(outcome, calledModel)
        if (outcome._tag === "Success") {
          modelSuccesses++
          connectionFailures = 0
          return Effect.zipRight(emitHeld, emit(outcome, calledModel))
        }
        const level = runLevel(outcome.error)
        if (level === undefined) {
          connectionFailures = 0
          return Effect.zipRight(emitHeld, emit(outcome, calledModel))
        }
        if (level !== "connection") return Effect.zipRight(recorder.onItemAbort, trip(level, outcome.error, 1))
        connectionFailures++
        if (connectionFailures < maxConnectionFailures) {
          held.push({ outcome, calledModel })
          return Effect.void
        }
        return Effect.zipRight(Effect.zipRight(recorder.onItemAbort, dropHeld), trip("Unreachable", outcome.error, connectionFailures))
      })

    // Failures held back when the input ends: item failures if the server ever answered, else
    // the run could not reach it at all.
    const settleHeld = Effect.suspend(() => {
      if (held.length === 0 || runFailure !== undefined) return dropHeld
      if (modelSuccesses > 0) return emitHeld
      const last = held[held.length - 1]!
      return Effect.zipRight(dropHeld, trip("Unreachable", last.outcome.error, connectionFailures))
    })

    // An item counts as finished once its outcome is handed over (or held back); interrupted
    // before, it counts as not attempted (it will run again on resume).
    const runItem = (item: Input.Item<I>): Effect.Effect<void, never, R> =>
      Effect.suspend(() => {
        let ended = false
        return processItem(item).pipe(
          Effect.flatMap(({ calledModel, outcome }) => settle(outcome, calledModel)),
          Effect.zipRight(Effect.sync(() => {
            ended = true
          })),
          Effect.onInterrupt(() => (ended ? Effect.void : recorder.onItemAbort))
        )
      })

    const invalid = (entry: Input.Invalid): Effect.Effect<void> => {
      const outcome: Outcome.Failure<I> = {
        _tag: "Failure",
        ...origin(entry),
        input: undefined,
        raw: entry.raw,
        error: entry.error,
        latencyMillis: 0
      }
      return Effect.zipRight(recorder.onItemStart, emit(outcome, false))
    }

    // A worker takes entries until the input is over (or failed: the reader reports it).
    const worker: Effect.Effect<void, never, R> = Effect.flatMap(Effect.either(pending.take), (taken) => {
      if (Either.isLeft(taken)) return Effect.void
      const entry = taken.right
      // an unreadable entry takes a worker too, so that it keeps its place among the others
      const handled = stopped
        ? recorder.onNotAttempted
        : entry._tag === "Invalid"
        ? invalid(entry)
        : runItem(entry)
      return Effect.zipRight(handled, worker)
    })

    const feed = (entry: Input.Entry<I>): Effect.Effect<unknown> =>
      Effect.suspend(() => {
        if (options.skip !== undefined && options.skip(entry.id)) return recorder.onResumed
        if (stopped) return recorder.onNotAttempted
        return pending.offer(entry)
      })

    // Reads the input lazily into `pending`; after a stop it reads on, counting the rest. An
    // iterable is tagged and fed one by one, as `Input.fromIterable` would, without a stream
    // step per item.
    const read: Effect.Effect<Exit.Exit<void, E2>, never, R2> = isStream(inputs)
      ? Effect.exit(Stream.runForEach(inputs, feed))
      : Effect.exit(Effect.suspend(() => {
        const iterator = (inputs as Iterable<I>)[Symbol.iterator]()
        let index = 0
        const next: Effect.Effect<void> = Effect.suspend(() => {
          const step = iterator.next()
          if (step.done === true) return Effect.void
          return Effect.zipRight(feed(Input.item(step.value, index++)), next)
        })
        return next
      }))

    const produce = Effect.gen(function*() {
      for (let i = 0; i < concurrency; i++) yield* FiberSet.run(workers, worker)
      const readExit = yield* read
      // the workers take what is left, then stop (an input failure ends the run after the
      // items in flight)
      yield* pending.done(Exit.asVoid(readExit))
      yield* FiberSet.awaitEmpty(workers)
      yield* settleHeld
      // after a stop, entries read ahead and not taken were not attempted
      yield* countLeft
      yield* mailbox.done(runFailure === undefined ? Exit.asVoid(readExit) : Exit.fail(runFailure))
    })

    yield* recorder.start
    // the items-in-progress gauge is sampled, so that an item costs no gauge update
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(
      Effect.flatMap(recorder.stats, (s) => Metric.set(BatchMetrics.itemsInProgress, s.inProgress)),
      Effect.sleep(Duration.millis(100))
    )))
    // every model call of the run goes through the counting model (installed once, inherited
    // by the workers)
    yield* Effect.forkScoped(
      countedModel === undefined ? produce : Effect.provideService(produce, LanguageModel.LanguageModel, countedModel)
    )
    return { outcomes: mailbox, finish: recorder.finish }
  })

/**
 * Hands the outcomes to `f` in chunks (all that finished since the last take) until the run is
 * over, then runs `finish`. At a model's latency outcomes finish one by one, so each take wakes
 * the consumer for a single outcome, and a `Stream` step per outcome (`Mailbox.toStream` read by
 * `Stream.runCollect`) was about a fifth of the sampled CPU of `run` over a model answering after
 * 100 ms: taking from the mailbox directly cut its CPU per item by ~16% (300 items at concurrency
 * 10, 5 interleaved runs; `bench/batch/overhead.ts LATENCY=100` measures the same rows).
 */
const forEachChunk = <I, O, E2, X, R>(
  { finish, outcomes }: Started<I, O, E2>,
  f: (chunk: Chunk.Chunk<Outcome.Outcome<I, O>>) => Effect.Effect<void, X, R>
): Effect.Effect<void, E2 | RunFailed | X, R> => {
  const loop: Effect.Effect<void, E2 | RunFailed | X, R> = Effect.flatMap(outcomes.takeAll, ([chunk, done]) => {
    const handled = Chunk.isEmpty(chunk) ? Effect.void : f(chunk)
    return done ? handled : Effect.zipRight(handled, loop)
  })
  return Effect.ensuring(loop, finish)
}

const origin = (entry: Input.Entry<unknown>): Outcome.Origin => ({ id: entry.id, index: entry.index, line: entry.line })

/**
 * Runs a module over inputs and collects every outcome (for small batches; use `stream` or
 * `runFile` for large ones), with the run's summary.
 *
 * @since 0.1.0
 */
export const run = <I, O, E, R, E2 = never, R2 = never>(
  module: Module.Module<I, O, E, R>,
  inputs: Iterable<I> | Stream.Stream<Input.Entry<I>, E2, R2>,
  options: Options = {}
): Effect.Effect<
  { readonly outcomes: ReadonlyArray<Outcome.Outcome<I, O>>; readonly summary: BatchMetrics.Summary },
  E2 | RunFailed,
  R | R2
> =>
  Effect.gen(function*() {
    const rateControl = Option.getOrUndefined(yield* Effect.serviceOption(RateControl.RateControl))
    const recorder = options.recorder ??
      (yield* BatchMetrics.makeRecorder({ concurrency: Math.max(1, Math.floor(options.concurrency ?? 10)), rateControl }))
    const outcomes: Array<Outcome.Outcome<I, O>> = []
    // (the run's scope closes before the summary: items stopped by it are counted)
    yield* Effect.scoped(Effect.flatMap(start(module, inputs, { ...options, recorder }), (started) =>
      forEachChunk(started, (chunk) =>
        Effect.sync(() => {
          for (const outcome of chunk) outcomes.push(outcome)
        }))))
    return { outcomes, summary: yield* recorder.summary }
  })

/**
 * Options of `runFile`.
 *
 * @since 0.1.0
 */
export interface FileOptions extends Omit<Options, "skip"> {
  /** A JSONL or CSV file of inputs. */
  readonly input: string
  /** The output JSONL file, appended to and resumed. */
  readonly output: string
  readonly format?: Input.Format | undefined
  /** The field holding an item's id (default `id`; an item without one is `line:N`). */
  readonly idField?: string | undefined
  /** Run again the items recorded as failures in the output file. Default false. */
  readonly retryFailed?: boolean | undefined
  /** Count the input first, so that progress knows the total. Default true. */
  readonly countInput?: boolean | undefined
}

/**
 * The summary of a file run, with what the output file held before.
 *
 * @since 0.1.0
 */
export interface FileSummary extends BatchMetrics.Summary {
  readonly output: string
  readonly checkpoint: Checkpoint.Resumed
}

/**
 * Runs a module over a JSONL or CSV file, appending one JSON line per finished item to the
 * output file as soon as it finishes. Started again with the same output file (after a crash,
 * a kill or Ctrl-C), it skips the items already there and runs only the rest.
 *
 * The output file is locked for the run (a second run on it fails with `CheckpointError`), and
 * may not be the input file under any name (a symbolic or hard link to it included).
 *
 * @example
 * ```ts
 * import { Batch } from "@effect-dspy/batch"
 * import { Predict, Signature } from "@effect-dspy/core"
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const program = Batch.runFile(qa, { input: "items.jsonl", output: "results.jsonl", concurrency: 10 })
 * ```
 *
 * @since 0.1.0
 */
export const runFile = <I, O, E, R>(
  module: Module.Module<I, O, E, R>,
  options: FileOptions
): Effect.Effect<
  FileSummary,
  Input.InputError | Checkpoint.CheckpointError | Checkpoint.WriteError | RunFailed,
  R | FileSystem.FileSystem | Path.Path
> =>
  Effect.scoped(Effect.gen(function*() {
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? 10))
    yield* Input.check(options.input)
    if (yield* sameFile(options.input, options.output)) {
      return yield* new Checkpoint.CheckpointError({ path: options.output, reason: "it is the input file (under another name or a link to it)" })
    }
    const rateControl = Option.getOrUndefined(yield* Effect.serviceOption(RateControl.RateControl))
    const recorder = options.recorder ?? (yield* BatchMetrics.makeRecorder({ concurrency, rateControl }))
    const checkpoint = yield* Checkpoint.open(options.output, { retryFailed: options.retryFailed })
    if (options.countInput ?? true) yield* Effect.flatMap(Input.count(options.input, { format: options.format }), recorder.setTotal)
    const encodeInput = encoder(module.signature?.input)
    const encodeOutput = encoder(module.signature?.output)
    // Rows were decoded by the module's signature (when it has one), or are passed as they are
    // for the module to check: either way the module's own input check still applies. Their
    // ids are distinct (a duplicate is an `Invalid` entry of its own).
    const entries = Input.readFile(options.input, {
      format: options.format,
      idField: options.idField,
      signature: module.signature
    }) as Stream.Stream<Input.Entry<I>, Input.InputError, FileSystem.FileSystem>
    const encoders = { input: encodeInput, output: encodeOutput }
    yield* Effect.scoped(Effect.flatMap(start(module, entries, { ...options, concurrency, recorder, skip: checkpoint.isDone }), (started) =>
      // The outcomes that finished since the last write go out in one write, off the workers'
      // path (they only hand outcomes over). Lines and their count together: an interruption
      // reports exactly the lines written.
      forEachChunk(started, (outcomes) =>
        Effect.uninterruptible(Effect.zipRight(
          checkpoint.appendAll(Chunk.map(outcomes, (outcome) => Outcome.toRecord(outcome, encoders))),
          Effect.forEach(outcomes, () => recorder.onWritten, { discard: true })
        )))))
    const summary = yield* recorder.summary
    return { ...summary, output: options.output, checkpoint: checkpoint.resumed }
  }))

/**
 * Whether two paths name one file: the same path, or (when both exist) the same device and
 * inode, which catches symbolic and hard links; else the same real path.
 */
const sameFile = (a: string, b: string): Effect.Effect<boolean, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    if (path.resolve(a) === path.resolve(b)) return true
    const fs = yield* FileSystem.FileSystem
    const [sa, sb] = yield* Effect.all([Effect.option(fs.stat(a)), Effect.option(fs.stat(b))])
    if (sa._tag === "None" || sb._tag === "None") return false
    if (sa.value.ino._tag === "Some" && sb.value.ino._tag === "Some") {
      return sa.value.dev === sb.value.dev && sa.value.ino.value === sb.value.ino.value
    }
    const [ra, rb] = yield* Effect.all([Effect.option(fs.realPath(a)), Effect.option(fs.realPath(b))])
    return ra._tag === "Some" && rb._tag === "Some" && ra.value === rb.value
  })
