/**
 * Rate control for language-model requests: requests-per-minute and tokens-per-minute buckets
 * (`@effect/experimental`'s `RateLimiter`), an adaptive concurrency limit (AIMD) that backs off
 * when the server answers 429 and recovers as requests succeed, and a shared cool-down that
 * honours the server's reset.
 *
 * It implements the providers' `Limiter` interface, so it plugs into the model's retry policy
 * (`Lm.layer(id, { limiter })`, or `Limiter.Limiter` in context when the model layer is built).
 * It never sends a request again: every retry is `Resilience`'s, which takes a permit per attempt
 * (so each attempt, retries included, keeps to the buckets and the limit), waits at least the
 * server's reset before retrying a 429, and tells the rate control about it (`pauseFor`).
 *
 * Adaptive concurrency: on a 429 the limit becomes `min(limit · backoff, others)` where
 * `others` is how many of our requests the server was still serving when it refused (its
 * observed capacity); the multiplicative part applies once per window (a 429 for a request sent
 * before the last decrease does not decrease again). After each success, when calls are queued
 * for a slot, the limit grows by `increase / limit` (about +1 per round trip of a full window).
 *
 * Shared cool-down: a 429 while none of our other requests is in flight (or with the limit
 * already at its floor) is a rate limit, not a concurrency limit: every new request then waits
 * until the server's reset has passed. A 429 with others in flight only lowers the limit: the
 * refused request itself waits for the reset in `Resilience`, and pausing everyone would idle
 * the slots a concurrency-limited server is still serving.
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as Limiter from "@effect-dspy/providers/Limiter"
import * as LmError from "@effect-dspy/providers/LmError"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/**
 * Options of a rate control.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The most requests in flight at once (the ceiling of the adaptive limit). */
  readonly maxConcurrency: number
  /** The floor of the adaptive limit. Default 1. */
  readonly minConcurrency?: number | undefined
  /** The limit to start with. Default `maxConcurrency`. */
  readonly initialConcurrency?: number | undefined
  /** Requests per minute allowed to start (token bucket, bursts of one second's worth). */
  readonly requestsPerMinute?: number | undefined
  /** Tokens per minute (prompt + completion), charged by estimate before a request and settled after. */
  readonly tokensPerMinute?: number | undefined
  /** The token estimate of a request before any has completed. Default 1000. */
  readonly tokensPerRequest?: number | undefined
  /** Multiplicative decrease on a 429 (0 < backoff < 1). Default 0.9. */
  readonly backoff?: number | undefined
  /** Additive increase per window of successes. Default 1. */
  readonly increase?: number | undefined
}

/**
 * A snapshot of a rate control.
 *
 * @since 0.1.0
 */
export interface Stats extends Limiter.Stats {
  /** The current concurrency limit. */
  readonly limit: number
  /** The lowest the limit went. */
  readonly minLimit: number
  readonly maxConcurrency: number
  /** Calls waiting for their turn (a cool-down, a rate token or a slot). */
  readonly queueDepth: number
  readonly maxQueueDepth: number
  /** Requests sent (every attempt). */
  readonly attempts: number
  /** 429 answers received. */
  readonly rateLimited: number
  readonly decreases: number
  readonly increases: number
}

/**
 * A rate control: a providers `Limiter` with adaptive concurrency and rate buckets.
 *
 * @since 0.1.0
 */
export interface Service extends Limiter.Service {
  readonly withStreamPermit: <A, E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A, E, R>
  readonly stats: Effect.Effect<Stats>
}

/**
 * The rate control in context (for statistics; the model uses it as its `Limiter`).
 *
 * @since 0.1.0
 */
export class RateControl extends Context.Tag("@effect-dspy/batch/RateControl")<RateControl, Service>() {}

/**
 * Requests in flight under a rate control.
 *
 * @since 0.1.0
 */
export const inFlightGauge = Metric.gauge("effect_dspy_batch_requests_in_flight", {
  description: "Language-model requests in flight under the batch rate control"
})
/**
 * Calls waiting for a slot, a rate token or the end of a cool-down.
 *
 * @since 0.1.0
 */
export const queueDepthGauge = Metric.gauge("effect_dspy_batch_queue_depth", {
  description: "Language-model calls waiting for their turn"
})
/**
 * The adaptive concurrency limit.
 *
 * @since 0.1.0
 */
export const limitGauge = Metric.gauge("effect_dspy_batch_concurrency_limit", {
  description: "The adaptive concurrency limit"
})
/**
 * 429 answers.
 *
 * @since 0.1.0
 */
export const rateLimitedCounter = Metric.counter("effect_dspy_batch_rate_limited_total", {
  description: "Rate-limit (429) answers seen by the batch rate control",
  incremental: true
})

/** Whether a cause is a rate-limit refusal (a classified `RateLimited`). */
const isRateLimited = (cause: Cause.Cause<unknown>): boolean => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "None") return false
  const error = failure.value
  return (LmError.isLmError(error) || AiError.isAiError(error)) && LmError.classify(error)._tag === "RateLimited"
}

/** Total tokens of a model response, when it reports them. */
const tokensOf = (value: unknown): number | undefined => {
  if (!Predicate.hasProperty(value, "usage")) return undefined
  const usage = value.usage
  if (Predicate.hasProperty(usage, "totalTokens") && typeof usage.totalTokens === "number") return usage.totalTokens
  const input = Predicate.hasProperty(usage, "inputTokens") && typeof usage.inputTokens === "number" ? usage.inputTokens : 0
  const output = Predicate.hasProperty(usage, "outputTokens") && typeof usage.outputTokens === "number"
    ? usage.outputTokens
    : 0
  return input + output > 0 ? input + output : undefined
}

/**
 * The buckets: one token per request, and tokens per minute charged by estimate and settled
 * with the reply's usage. Both hold at most one second's worth (a minute's limit does not go out
 * in one burst; a request larger than a second's worth of tokens gets a bucket its size), may go
 * into debt, and make the next requests wait for it.
 */
const makeBuckets = (rpm: number | undefined, tpm: number | undefined) =>
  Effect.gen(function*() {
    const limiter = yield* RateLimiter.make.pipe(Effect.provide(RateLimiter.layerStoreMemory))
    // (the in-memory store cannot fail)
    const consume = (key: string, perMinute: number, tokens: number) => {
      const limit = Math.max(Math.ceil(perMinute / 60), Math.ceil(tokens))
      return limiter.consume({
        algorithm: "token-bucket",
        onExceeded: "delay",
        key,
        limit,
        window: Duration.millis((limit * 60_000) / perMinute),
        tokens
      }).pipe(Effect.map((result) => result.delay), Effect.orDie)
    }
    const wait = (delay: Duration.Duration) => (Duration.greaterThan(delay, Duration.zero) ? Effect.sleep(delay) : Effect.void)
    return {
      request: rpm === undefined ? Effect.void : Effect.flatMap(consume("requests", rpm, 1), wait),
      /** Takes `tokens` (waiting for them), charged to the bucket. */
      tokens: (tokens: number) => (tpm === undefined ? Effect.void : Effect.flatMap(consume("tokens", tpm, tokens), wait)),
      /** Charges (or refunds, when negative) a difference without waiting: the debt delays the next requests. */
      settle: (difference: number) =>
        tpm === undefined || difference === 0 ? Effect.void : Effect.asVoid(consume("tokens", tpm, difference))
    }
  })

/**
 * Makes a rate control; its statistics sampler lives in the scope.
 *
 * @example
 * ```ts
 * import { RateControl } from "@effect-dspy/batch"
 * import { Lm } from "@effect-dspy/providers"
 * import { Effect, Layer } from "effect"
 *
 * const Model = Layer.unwrapScoped(
 *   Effect.map(RateControl.make({ maxConcurrency: 10, requestsPerMinute: 600 }), (limiter) =>
 *     Lm.layer("openai/gpt-4o-mini", { limiter }))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const max = Math.max(1, Math.floor(options.maxConcurrency))
    const min = Math.min(max, Math.max(1, Math.floor(options.minConcurrency ?? 1)))
    const backoff = Math.min(0.99, Math.max(0.05, options.backoff ?? 0.9))
    const increase = Math.max(0, options.increase ?? 1)
    const positive = (n: number | undefined) => (n !== undefined && n > 0 ? n : undefined)
    const rpm = positive(options.requestsPerMinute)
    const tpm = positive(options.tokensPerMinute)
    const buckets = rpm === undefined && tpm === undefined ? undefined : yield* makeBuckets(rpm, tpm)

    // Per-instance state, changed only in synchronous steps of the fiber runtime.
    let limit = Math.min(max, Math.max(min, options.initialConcurrency ?? max))
    let minLimit = limit
    let permits = Math.floor(limit)
    let epoch = 0
    let inFlight = 0
    let maxInFlight = 0
    let queueDepth = 0
    let maxQueueDepth = 0
    let slotWaiters = 0
    let pausedUntil = 0
    let pauses = 0
    let attempts = 0
    let rateLimited = 0
    let decreases = 0
    let increases = 0
    let tokenEstimate = Math.max(1, options.tokensPerRequest ?? 1000)
    const semaphore = yield* Effect.makeSemaphore(permits)

    // The gauges are sampled, not updated per request: a request costs no metric update.
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(
      Effect.suspend(() =>
        Effect.all([
          Metric.set(inFlightGauge, inFlight),
          Metric.set(queueDepthGauge, queueDepth),
          Metric.set(limitGauge, Math.floor(limit))
        ], { discard: true })
      ),
      Effect.sleep(Duration.millis(100))
    )).pipe(Effect.interruptible))

    const resize = Effect.suspend(() => {
      const next = Math.max(min, Math.floor(limit))
      if (next === permits) return Effect.void
      permits = next
      return semaphore.resize(next)
    })

    // (before any cool-down, no clock read)
    const awaitOpen: Effect.Effect<void> = Effect.suspend(() =>
      pausedUntil === 0 ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (now) =>
        pausedUntil > now ? Effect.zipRight(Effect.sleep(pausedUntil - now), awaitOpen) : Effect.void)
    )

    /** A request holding a slot: when it was taken, what it was charged, whether it still holds it. */
    interface Slot {
      readonly epoch: number
      readonly charged: number
      held: boolean
      /** Its 429 is counted already (a stream's, seen as it failed). */
      refused: boolean
    }

    // Waits for a cool-down to end, for the buckets, then for a slot, counting the wait as queue
    // depth, holding no slot meanwhile. Uninterruptible but for the waits (`restore`), so that an
    // interruption leaves every count right.
    const acquire = (restore: <X, Y, Z>(e: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>): Effect.Effect<Slot> =>
      Effect.suspend(() => {
        queueDepth++
        if (queueDepth > maxQueueDepth) maxQueueDepth = queueDepth
        const charged = tpm === undefined ? 0 : Math.round(tokenEstimate)
        let waitingForSlot = false
        const rates = buckets === undefined
          ? awaitOpen
          : Effect.zipRight(
            Effect.zipRight(awaitOpen, Effect.zipRight(buckets.request, buckets.tokens(charged))),
            // a cool-down may have started while we waited for the buckets
            awaitOpen
          )
        const slot = Effect.suspend(() => {
          slotWaiters++
          waitingForSlot = true
          return restore(semaphore.take(1))
        })
        return Effect.onExit(Effect.zipRight(restore(rates), slot), (exit) =>
          Effect.suspend(() => {
            queueDepth--
            if (waitingForSlot) slotWaiters--
            if (Exit.isSuccess(exit)) {
              inFlight++
              attempts++
              if (inFlight > maxInFlight) maxInFlight = inFlight
              return Effect.void
            }
            // interrupted while waiting: the estimate goes back (a request token is not refunded)
            return buckets === undefined ? Effect.void : buckets.settle(-charged)
          })).pipe(Effect.map((): Slot => ({ epoch, charged, held: true, refused: false })))
      })

    // A 429 was answered to a request taken in `takenEpoch` while `others` of ours were in flight.
    const onRateLimited = (takenEpoch: number) =>
      Effect.suspend(() => {
        rateLimited++
        const others = Math.max(0, inFlight - 1)
        if (takenEpoch === epoch) {
          limit = Math.max(min, limit * backoff)
          epoch++
          decreases++
        }
        if (others > 0) limit = Math.max(min, Math.min(limit, others))
        if (limit < minLimit) minLimit = limit
        return Effect.zipRight(Metric.increment(rateLimitedCounter), resize)
      })

    const onSuccess = Effect.suspend(() => {
      if (slotWaiters > 0 && limit < max && increase > 0) {
        const before = Math.floor(limit)
        limit = Math.min(max, limit + increase / limit)
        if (Math.floor(limit) > before) {
          increases++
          return resize
        }
      }
      return Effect.void
    })

    // Gives the slot back and learns from the attempt's exit: AIMD, and the tokens it used.
    const release = (slot: Slot, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (!slot.held) return Effect.void
        const limited = slot.refused || (Exit.isFailure(exit) && isRateLimited(exit.cause))
        // counted while the slot is still ours: `others` excludes this request
        const learn = slot.refused ? Effect.void : limited ? onRateLimited(slot.epoch) : Exit.isSuccess(exit) ? onSuccess : Effect.void
        return Effect.zipRight(
          learn,
          Effect.suspend(() => {
            slot.held = false
            inFlight--
            const used = Exit.isSuccess(exit) ? tokensOf(exit.value) : undefined
            if (used !== undefined && tpm !== undefined) tokenEstimate = 0.8 * tokenEstimate + 0.2 * used
            const settle = buckets === undefined || tpm === undefined
              ? Effect.void
              // a refused request used no tokens; a reply without usage keeps its estimate
              : buckets.settle(limited ? -slot.charged : used === undefined ? 0 : used - slot.charged)
            return Effect.zipRight(semaphore.release(1), settle)
          })
        )
      })

    // One attempt holding one slot. (Plain callbacks rather than generators: this runs on every
    // request.)
    const withPermit = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(acquire(restore), (slot) =>
          Effect.flatMap(Effect.exit(restore(self)), (exit) => Effect.zipRight(release(slot, exit), exit))
        )
      )

    // One streamed attempt holding one slot for its life. A refusal reaches the stream's error
    // channel while the slot is still held, so that it is counted like a call's.
    const withStreamPermit = <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
      Stream.unwrapScoped(
        Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(acquire(restore), (slot) =>
            Effect.as(
              Effect.addFinalizer((exit) => release(slot, exit)),
              Stream.tapErrorCause(self, (cause) => {
                if (!isRateLimited(cause) || slot.refused) return Effect.void
                // counted once: the finalizer then only gives the slot back
                slot.refused = true
                return onRateLimited(slot.epoch)
              })
            )
          )
        )
      )

    // Called by `Resilience` with the server's reset when a 429 carries one (from inside the
    // refused attempt's permit).
    const pauseFor = (millis: number): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          const others = Math.max(0, inFlight - 1)
          if (others > 0 && limit > min) return
          pauses++
          pausedUntil = Math.max(pausedUntil, now + Math.max(0, millis))
        }))

    const stats = Effect.map(Clock.currentTimeMillis, (now): Stats => ({
      inFlight,
      maxInFlight,
      pausedUntil: pausedUntil > now ? pausedUntil : 0,
      pauses,
      limit: Math.floor(limit),
      minLimit: Math.floor(minLimit),
      maxConcurrency: max,
      queueDepth,
      maxQueueDepth,
      attempts,
      rateLimited,
      decreases,
      increases
    }))

    // Until the providers' `Limiter` drops it: a permit held for a scope.
    const permitScoped: Effect.Effect<void, never, Scope.Scope> = Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(acquire(restore), (slot) => Effect.addFinalizer((exit) => release(slot, exit)))
    )

    return { concurrency: max, withPermit, withStreamPermit, permitScoped, pauseFor, stats }
  })

/**
 * A layer providing the rate control both as `RateControl` (statistics) and as the providers'
 * `Limiter` (so that a model layer built on top of it uses it).
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<RateControl | Limiter.Limiter> =>
  Layer.scopedContext(
    Effect.map(make(options), (service) => Context.make(RateControl, service).pipe(Context.add(Limiter.Limiter, service)))
  )
