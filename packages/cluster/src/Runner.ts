/**
 * A runner: a process that joins the cluster and runs the items of distributed batches. It
 * serves the batch item entity on a socket; each item runs the runner's program under the
 * process's rate control (and the account's global limits, when set), and its outcome is
 * stored in the results table before it is answered.
 *
 * Process-wide state (the concurrency limit, the rate control, the model and its HTTP client)
 * lives in layers built once per process; the entity's handlers only use them.
 *
 * Stopping (the scope closing, e.g. on SIGTERM): the runner takes no new items, lets the items
 * in progress finish for up to `settings.drainTimeout`, interrupts the rest (they stay
 * unanswered in the database and another runner runs them), releases its shards and leaves.
 *
 * @example
 * ```ts
 * import { Cluster, Runner } from "@effect-dspy/cluster"
 * import * as Programs from "@effect-dspy/batch/Programs"
 * import { Lm } from "@effect-dspy/providers"
 * import { Layer, Option } from "effect"
 *
 * const runner = Runner.layer({
 *   database: { url: "postgres://postgres@127.0.0.1:5432/postgres" },
 *   address: Option.getOrThrow(Cluster.parseAddress("127.0.0.1:34431")),
 *   program: "qa",
 *   module: Programs.builtIns["qa"]!.module,
 *   modelId: "openai/gpt-4o-mini",
 *   model: (limiter) => Lm.layer("openai/gpt-4o-mini", { limiter }),
 *   concurrency: 16
 * })
 * const main = Layer.launch(runner)
 * ```
 *
 * @since 0.2.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Programs from "@effect-dspy/batch/Programs"
import * as RateControl from "@effect-dspy/batch/RateControl"
import type * as Limiter from "@effect-dspy/providers/Limiter"
import type * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as RateLimiter from "@effect/experimental/RateLimiter"
import type * as SocketServer from "@effect/platform/SocketServer"
import type * as SqlError from "@effect/sql/SqlError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as BatchStore from "./BatchStore.js"
import * as Cluster from "./Cluster.js"
import * as GlobalLimiter from "./GlobalLimiter.js"
import * as ItemEntity from "./ItemEntity.js"
import * as ItemExecutor from "./ItemExecutor.js"
import * as PgRateLimiterStore from "./PgRateLimiterStore.js"
import * as RunnerRegistry from "./RunnerRegistry.js"
import * as Tables from "./Tables.js"

/**
 * Options of a runner.
 *
 * @since 0.2.0
 */
export interface Options<E = never> {
  readonly database: Cluster.DatabaseOptions
  /** Where the other members reach this runner. */
  readonly address: RunnerAddress.RunnerAddress
  /** Where it listens. Default: `address`. */
  readonly listen?: RunnerAddress.RunnerAddress | undefined
  /** The program as given (a built-in name or a module file); its key is what batches name. */
  readonly program: string
  readonly module: Programs.Runnable
  /** The model id (recorded for the coordinator's summary). */
  readonly modelId: string
  /** The model over a limiter: the rate control with the global limits. */
  readonly model: (limiter: Limiter.Service) => Layer.Layer<LanguageModel.LanguageModel, E>
  /** Items (and model requests) at once in this process. */
  readonly concurrency: number
  /** This process's own requests / tokens per minute. */
  readonly requestsPerMinute?: number | undefined
  readonly tokensPerMinute?: number | undefined
  /** Limits shared by every runner using the same `key` (default: the model id). */
  readonly global?: {
    readonly requestsPerMinute?: number | undefined
    readonly tokensPerMinute?: number | undefined
    readonly key?: string | undefined
  } | undefined
  readonly itemTimeout?: Duration.DurationInput | undefined
  readonly rateLimitBudget?: Duration.DurationInput | undefined
  readonly settings?: Partial<Cluster.Settings> | undefined
  /** Log the runner's counters this often (at info level). Default 10 s; 0 never. */
  readonly statsInterval?: Duration.DurationInput | undefined
}

/**
 * Everything a runner is, as one layer: launch it (`Layer.launch`) in a process of its own.
 *
 * @since 0.2.0
 */
export const layer = <E = never>(
  options: Options<E>
): Layer.Layer<never, E | Cluster.DatabaseUnavailable | SqlError.SqlError | SocketServer.SocketServerError> => {
  const address = `${options.address.host}:${options.address.port}`
  const program = ItemEntity.programKey(options.program)
  const concurrency = Math.max(1, Math.floor(options.concurrency))

  // The rate control, with the global limits around it when any is set.
  const limiter = Layer.unwrapScoped(Effect.gen(function*() {
    const local = yield* RateControl.make({
      maxConcurrency: concurrency,
      requestsPerMinute: options.requestsPerMinute,
      tokensPerMinute: options.tokensPerMinute
    })
    const global = options.global
    if (global === undefined || (global.requestsPerMinute === undefined && global.tokensPerMinute === undefined)) {
      return Layer.succeed(RateControl.RateControl, local)
    }
    return Layer.effect(
      RateControl.RateControl,
      GlobalLimiter.make({
        local,
        requestsPerMinute: global.requestsPerMinute,
        tokensPerMinute: global.tokensPerMinute,
        key: global.key ?? options.modelId
      })
    ).pipe(Layer.provide(RateLimiter.layer), Layer.provide(PgRateLimiterStore.layer()))
  }))

  const model = Layer.unwrapEffect(Effect.map(RateControl.RateControl, (service) => options.model(service))).pipe(
    Layer.provide(limiter)
  )

  const executor = ItemExecutor.layer({
    program,
    module: options.module,
    concurrency,
    itemTimeout: options.itemTimeout,
    rateLimitBudget: options.rateLimitBudget,
    writtenBy: address
  }).pipe(Layer.provide(model))

  const entity = ItemEntity.ItemEntity.toLayer(
    Effect.map(ItemExecutor.ItemExecutor, (executor) =>
      ItemEntity.ItemEntity.of({ Process: (request) => executor.process(request.payload) })),
    {
      // the executor bounds the work; the entity only hands items over
      concurrency: "unbounded",
      mailboxCapacity: "unbounded",
      // belt and braces: should a handler die after all, its item is answered with the defect
      // instead of the entity being restarted and the item sent again forever
      disableFatalDefects: true
    }
  )

  const stats = Layer.scopedDiscard(Effect.gen(function*() {
    const executor = yield* ItemExecutor.ItemExecutor
    yield* Effect.logInfo(`runner ${address} serves program ${program} on ${options.modelId}, ${concurrency} at once`)
    const interval = options.statsInterval ?? "10 seconds"
    let last = ""
    const report = Effect.flatMap(executor.stats, (s) => {
      const line = `in progress ${s.inProgress}, ran ${s.ran} (${s.succeeded} succeeded, ${s.failed} failed), answered from stored results ${s.redelivered}`
      if (line === last) return Effect.void
      last = line
      return Effect.logInfo(line)
    })
    yield* report.pipe(Effect.repeat(Schedule.spaced(interval)), Effect.interruptible, Effect.forkScoped)
  }))

  const registration = Layer.scopedDiscard(
    RunnerRegistry.register({ address, program, model: options.modelId, concurrency })
  )

  // registered once it serves (so that a coordinator counts only runners that take items),
  // unregistered first when it stops
  return registration.pipe(
    Layer.provide(Layer.mergeAll(entity, stats)),
    Layer.provide(executor),
    Layer.provide(Cluster.runnerLayer({ address: options.address, listen: options.listen, settings: options.settings })),
    Layer.provide(BatchStore.layer()),
    Layer.provide(Layer.effectDiscard(Tables.ensure())),
    Layer.provide(Cluster.databaseLayer(options.database))
  )
}
