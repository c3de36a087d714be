/**
 * How a runner runs items: one service per process (a `Layer`), shared by every entity the
 * runner hosts, holding the process-wide state: the concurrency limit (a semaphore of
 * `concurrency` items at once) and, through the model's limiter, the rate control.
 *
 * `process` never fails and never dies. Every error of an item (a bad input, a provider
 * error after its retries, a timeout, even a defect in the module) becomes a failure
 * outcome: `@effect/cluster` 0.60 restarts an entity whose handler dies and sends its
 * requests again, forever. Only interruption passes through (the runner stopping, or its
 * shard moving): the item then stays unanswered in the database and another runner runs it.
 *
 * The outcome is stored with an idempotent insert keyed by (batch id, item id) before it is
 * answered; an item delivered again (its first runner died after storing) is answered from
 * the stored row without calling the model. A database that is away is waited for with
 * backoff (the item's shard lock then lapses and the item is interrupted anyway).
 *
 * @since 0.2.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Batch from "@effect-dspy/batch/Batch"
import * as Outcome from "@effect-dspy/batch/Outcome"
import type * as Programs from "@effect-dspy/batch/Programs"
import type * as SqlError from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { BatchStore } from "./BatchStore.js"
import { decoder, encoder } from "./internal/signatureCodec.js"
import type * as ItemEntity from "./ItemEntity.js"

/**
 * Options of an executor.
 *
 * @since 0.2.0
 */
export interface Options {
  /** The program key this runner serves (`ItemEntity.programKey`). */
  readonly program: string
  readonly module: Programs.Runnable
  /** Items run at once in this process. */
  readonly concurrency: number
  /** Fail an item that takes longer than this (retries included). */
  readonly itemTimeout?: Duration.DurationInput | undefined
  /** How long one item may keep waiting on 429s. Default 10 minutes. */
  readonly rateLimitBudget?: Duration.DurationInput | undefined
  /** Written with each result: who ran it (the runner's address). */
  readonly writtenBy: string
}

/**
 * Counters of an executor.
 *
 * @since 0.2.0
 */
export interface Stats {
  readonly inProgress: number
  /** Items that ran the module here. */
  readonly ran: number
  readonly succeeded: number
  readonly failed: number
  /** Items answered from a result already stored (delivered again). */
  readonly redelivered: number
}

/**
 * The executor.
 *
 * @since 0.2.0
 */
export interface Service {
  readonly program: string
  readonly concurrency: number
  /** Runs one item and answers with its outcome's JSON line (the stored one). */
  readonly process: (payload: ItemEntity.Payload) => Effect.Effect<string>
  readonly stats: Effect.Effect<Stats>
}

/**
 * The executor in context.
 *
 * @since 0.2.0
 */
export class ItemExecutor extends Context.Tag("@effect-dspy/cluster/ItemExecutor")<ItemExecutor, Service>() {}

/** Retries a database operation with capped exponential backoff, until it works or the fiber is interrupted. */
const persistently = <A>(what: string, effect: Effect.Effect<A, SqlError.SqlError>): Effect.Effect<A> =>
  effect.pipe(
    Effect.tapError((error) => Effect.logWarning(`${what}: the database did not answer (${error.message}); trying again`)),
    Effect.retry(Schedule.exponential("100 millis", 2).pipe(Schedule.union(Schedule.spaced("5 seconds")))),
    Effect.orDie
  )

/**
 * Makes an executor.
 *
 * @since 0.2.0
 */
export const make = (options: Options): Effect.Effect<Service, never, BatchStore | LanguageModel.LanguageModel> =>
  Effect.gen(function*() {
    const store = yield* BatchStore
    const context = yield* Effect.context<LanguageModel.LanguageModel>()
    const concurrency = Math.max(1, Math.floor(options.concurrency))
    const semaphore = yield* Effect.makeSemaphore(concurrency)
    const module = options.module
    const decodeInput = decoder(module.signature?.input)
    const encodeOutput = encoder(module.signature?.output)
    const timeout = options.itemTimeout === undefined ? undefined : Duration.decode(options.itemTimeout)
    const counters = { inProgress: 0, ran: 0, succeeded: 0, failed: 0, redelivered: 0 }

    const origin = (p: ItemEntity.Payload): Outcome.Origin => ({ id: p.itemId, index: p.index, line: p.line ?? undefined })
    const failure = (p: ItemEntity.Payload, error: Outcome.ItemError, latencyMillis = 0): Outcome.Outcome<unknown, unknown> => ({
      _tag: "Failure",
      ...origin(p),
      input: p.input,
      raw: undefined,
      error,
      latencyMillis
    })

    // The module on one item, under the process-wide limit; interruption passes through.
    const run = (p: ItemEntity.Payload, input: unknown): Effect.Effect<Outcome.Outcome<unknown, unknown>> =>
      Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        let call: Effect.Effect<Outcome.Outcome<unknown, unknown>, unknown> = Effect.map(
          module(input),
          (prediction): Outcome.Outcome<unknown, unknown> => ({
            _tag: "Success",
            ...origin(p),
            input,
            output: prediction.output,
            usage: prediction.usage,
            latencyMillis: 0,
            cached: undefined
          })
        ).pipe(Effect.provide(context))
        if (timeout !== undefined) {
          call = Effect.timeoutFail(call, {
            duration: timeout,
            onTimeout: () => new Batch.ItemTimeout({ afterMillis: Duration.toMillis(timeout) })
          })
        }
        // When this fiber is interrupted (the runner stopping, the shard moving), the runtime
        // skips this handler and the interruption goes up untouched. An exit that is an
        // interruption here came from inside the module (a fiber it joined was interrupted): a
        // failure of the item like any other, not the item's interruption (that would answer
        // the coordinator with an interruption it cannot tell from its own).
        const exit = yield* Effect.exit(call)
        const latencyMillis = (yield* Clock.currentTimeMillis) - start
        if (Exit.isSuccess(exit)) return { ...exit.value, latencyMillis }
        return failure(p, Outcome.errorOfCause(exit.cause), latencyMillis)
      })

    const outcomeOf = (p: ItemEntity.Payload): Effect.Effect<Outcome.Outcome<unknown, unknown>> => {
      if (p.program !== options.program) {
        return Effect.succeed(failure(p, {
          kind: "ProgramMismatch",
          message: `this runner serves program ${options.program}, the batch runs ${p.program}`
        }))
      }
      const decoded = decodeInput(p.input)
      if (Either.isLeft(decoded)) return Effect.succeed(failure(p, { kind: "InvalidInput", message: decoded.left }))
      return semaphore.withPermits(1)(Effect.suspend(() => {
        counters.ran++
        return run(p, decoded.right)
      }))
    }

    const lineOf = (outcome: Outcome.Outcome<unknown, unknown>, p: ItemEntity.Payload): string => {
      try {
        // the input is stored as it was sent (encoded); the output encoded with the signature
        return JSON.stringify(Outcome.toRecord(outcome, { input: () => p.input, output: encodeOutput }))
      } catch (error) {
        // an output with no JSON form (a bigint, a cycle) is a failure of the item
        return JSON.stringify(Outcome.toRecord(
          failure(p, { kind: "UnencodableOutput", message: error instanceof Error ? error.message : String(error) }, outcome.latencyMillis),
          { input: () => p.input }
        ))
      }
    }

    const process = (p: ItemEntity.Payload): Effect.Effect<string> =>
      Effect.gen(function*() {
        const stored = yield* persistently("reading a result", store.findResult(p.batchId, p.itemId))
        if (Option.isSome(stored)) {
          counters.redelivered++
          return stored.value
        }
        const outcome = yield* Effect.acquireUseRelease(
          Effect.sync(() => void counters.inProgress++),
          () =>
            // a defect here is a bug of ours or of the module: it is still an outcome, never a death
            outcomeOf(p).pipe(
              Effect.catchAllDefect((defect) =>
                Effect.succeed(failure(p, { kind: "Defect", message: defect instanceof Error ? defect.message : String(defect) }))
              )
            ),
          () => Effect.sync(() => void counters.inProgress--)
        )
        const line = lineOf(outcome, p)
        const result = yield* persistently(
          "storing a result",
          store.insertResult({
            batchId: p.batchId,
            itemId: p.itemId,
            index: p.index,
            status: outcome._tag === "Success" ? "success" : "failure",
            record: line,
            writtenBy: options.writtenBy
          })
        )
        if (outcome._tag === "Success") counters.succeeded++
        else counters.failed++
        return result
      }).pipe(
        // the last guard: whatever dies above still answers as a stored failure
        Effect.catchAllDefect((defect) => {
          const line = JSON.stringify(Outcome.toRecord(
            failure(p, { kind: "Defect", message: defect instanceof Error ? defect.message : String(defect) }),
            { input: () => p.input }
          ))
          return store.insertResult({
            batchId: p.batchId,
            itemId: p.itemId,
            index: p.index,
            status: "failure",
            record: line,
            writtenBy: options.writtenBy
          }).pipe(Effect.catchAllCause(() => Effect.succeed(line)))
        })
      )

    return {
      program: options.program,
      concurrency,
      process,
      stats: Effect.sync(() => ({ ...counters }))
    }
  })

/**
 * The executor as a layer.
 *
 * @since 0.2.0
 */
export const layer = (options: Options): Layer.Layer<ItemExecutor, never, BatchStore | LanguageModel.LanguageModel> =>
  Layer.effect(ItemExecutor, make(options))
