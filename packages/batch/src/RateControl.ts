/**
 * Rate control for language-model requests: a requests-per-minute token bucket (Effect's
 * `RateLimiter`), a tokens-per-minute bucket, and an adaptive concurrency limit (AIMD) that
 * backs off when the server answers 429 and recovers as requests succeed.
 *
 * It implements the providers' `Limiter` interface, so it plugs into the resilient call policy
 * (`Lm.layer(id, { limiter })`, or `Limiter.Limiter` in context when the model layer is built).
 * The division of labour with `Resilience`, so that no failure is retried twice:
 *
 * - `Resilience` runs each attempt inside `withPermit` and retries the failures it classifies as
 *   retryable (5xx, resets, timeouts) with its own backoff, holding no permit while it sleeps.
 * - A 429 never leaves `withPermit`: the rate control itself releases the slot, lowers the
 *   concurrency limit, waits the server's `Retry-After` (or an exponential backoff when the
 *   server gave none) and sends the request again under the shared limits. So a 429 is not a
 *   failure of the item and does not use up `Resilience`'s retry budget. Only when a call has
 *   waited longer than `maxWait` (or past the item's deadline, see `Deadline`) does the 429 go
 *   up to `Resilience`, whose further attempts then get a single try each here.
 * - Streams (`withStreamPermit`) get the same treatment: a stream refused with a 429 before its
 *   first part (nothing reached the consumer) is sent again here under the shared limits, and
 *   does not use up `Resilience`'s retry budget either. (`permitScoped`, for callers that hold a
 *   slot themselves, cannot re-send: their 429s are reported through `pauseFor`.)
 *
 * Adaptive concurrency: on a 429 the limit becomes `min(limit · backoff, others)` where
 * `others` is how many of our requests the server was still serving when it refused (its
 * observed capacity); the multiplicative part applies once per window (a 429 for a request sent
 * before the last decrease does not decrease again). After each success, when calls are queued
 * for a slot, the limit grows by `increase / limit` (about +1 per round trip of a full window).
 * A 429 while none of our other requests is in flight means a rate (not a concurrency) limit:
 * then every new request waits until the `Retry-After` has passed.
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
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
import * as Random from "effect/Random"
import * as RateLimiter from "effect/RateLimiter"
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
  /** First wait after a 429 without `Retry-After` (doubling, capped at 60 s). Default 1 s. */
  readonly retryBase?: Duration.DurationInput | undefined
  /** How long one call may keep waiting on 429s before the error is reported. Default 10 minutes. */
  readonly maxWait?: Duration.DurationInput | undefined
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
  /** Calls waiting for their turn (a pause, a rate token or a slot). */
  readonly queueDepth: number
  readonly maxQueueDepth: number
  /** Requests sent. */
  readonly attempts: number
  /** 429 answers received. */
  readonly rateLimited: number
  /** Requests sent again here after a 429. */
  readonly rateLimitRetries: number
  readonly decreases: number
  readonly increases: number
}

/**
 * A rate control: a providers `Limiter` with adaptive concurrency and rate buckets.
 *
 * @since 0.1.0
 */
export interface Service extends Limiter.Service {
  readonly stats: Effect.Effect<Stats>
}

/**
 * The rate control in context (for statistics; the model uses it as its `Limiter`).
 *
 * @since 0.1.0
 */
export class RateControl extends Context.Tag("@effect-dspy/batch/RateControl")<RateControl, Service>() {}

/**
 * The deadline (epoch milliseconds) after which a call stops waiting on 429s; the batch runner
 * sets it per item so that retries across `Resilience` attempts share one budget.
 *
 * @since 0.1.0
 */
export class Deadline extends Context.Reference<Deadline>()("@effect-dspy/batch/RateControl/Deadline", {
  defaultValue: (): number | undefined => undefined
}) {}

// Set while an attempt runs inside `withPermit`: its 429 is handled here, so `pauseFor`
// (called by `Resilience` for the same 429) must not count it again.
class InsidePermit extends Context.Reference<InsidePermit>()("@effect-dspy/batch/RateControl/InsidePermit", {
  defaultValue: (): boolean => false
}) {}

/**
 * Requests in flight under a rate control.
 *
 * @since 0.1.0
 */
export const inFlightGauge = Metric.gauge("effect_dspy_batch_requests_in_flight", {
  description: "Language-model requests in flight under the batch rate control"
})
/**
 * Calls waiting for a slot, a rate token or the end of a pause.
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

/** The rate-limit failure in a cause, if any, with the server's requested wait. */
const rateLimitOf = (cause: Cause.Cause<unknown>): LmError.RateLimited | undefined => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "None") return undefined
  const error = failure.value
  if (!LmError.isLmError(error) && !AiError.isAiError(error)) return undefined
  const classified = LmError.classify(error)
  return classified._tag === "RateLimited" ? classified : undefined
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

/** A token bucket that may go into debt (charges are settled after the fact). */
const makeTokenBucket = (perMinute: number) => {
  const capacity = Math.max(1, perMinute / 60)
  const perMilli = perMinute / 60_000
  let tokens = capacity
  let last: number | undefined
  const refill = (now: number) => {
    if (last !== undefined) tokens = Math.min(capacity, tokens + (now - last) * perMilli)
    last = now
  }
  const take = (n: number): Effect.Effect<void> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      refill(now)
      const need = Math.min(n, capacity)
      if (tokens >= need) {
        tokens -= n
        return Effect.void
      }
      return Effect.zipRight(Effect.sleep(Math.ceil((need - tokens) / perMilli)), take(n))
    })
  const settle = (n: number): Effect.Effect<void> =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      refill(now)
      tokens = Math.min(capacity, tokens + n)
    })
  return { take, settle }
}

/**
 * Makes a rate control; its rate buckets live in the scope.
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
    const retryBaseMillis = Duration.toMillis(options.retryBase ?? Duration.seconds(1))
    const maxWaitMillis = Duration.toMillis(options.maxWait ?? Duration.minutes(10))
    const rpm = options.requestsPerMinute !== undefined && options.requestsPerMinute > 0
      ? options.requestsPerMinute
      : undefined
    const burst = rpm === undefined ? 1 : Math.max(1, Math.ceil(rpm / 60))
    const rpmLimiter = rpm === undefined
      ? undefined
      : yield* RateLimiter.make({ limit: burst, interval: Duration.millis((burst * 60_000) / rpm) })
    const tpm = options.tokensPerMinute !== undefined && options.tokensPerMinute > 0
      ? makeTokenBucket(options.tokensPerMinute)
      : undefined

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
    let rateLimitRetries = 0
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

    // (before any pause, no clock read)
    const awaitOpen: Effect.Effect<void> = Effect.suspend(() =>
      pausedUntil === 0 ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (now) =>
        pausedUntil > now ? Effect.zipRight(Effect.sleep(pausedUntil - now), awaitOpen) : Effect.void)
    )

    // Waits for a pause to end and for the rate buckets; holds no slot meanwhile. `charged`
    // tells whether the token estimate was taken (to refund it if the call stops here).
    const awaitRates = (tokens: number, charged: { value: boolean }): Effect.Effect<void> =>
      Effect.gen(function*() {
        yield* awaitOpen
        if (rpmLimiter !== undefined) yield* rpmLimiter(Effect.void)
        if (tpm !== undefined) {
          yield* tpm.take(tokens)
          charged.value = true
        }
        // a pause may have started while we waited for a token
        yield* awaitOpen
      })

    // Waits for the rates and then for a slot, counting the wait as queue depth; one exit
    // handler undoes the counts (and refunds the token estimate) when interrupted meanwhile.
    // Runs uninterruptibly but for the waits (`restore`).
    const acquire = (
      restore: <X, Y, Z>(e: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>,
      estimate: number
    ): Effect.Effect<void> =>
      Effect.suspend(() => {
        queueDepth++
        if (queueDepth > maxQueueDepth) maxQueueDepth = queueDepth
        const charged = { value: false }
        let waitingForSlot = false
        // without rate buckets only a pause can hold a call before its slot
        const rates = rpmLimiter === undefined && tpm === undefined ? awaitOpen : awaitRates(estimate, charged)
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
            return tpm !== undefined && charged.value ? tpm.settle(estimate) : Effect.void
          }))
      })

    // A 429 was answered to a request taken in `takenEpoch` while `others` of ours were in flight.
    const onRateLimited = (takenEpoch: number, others: number, retryAfterMillis: number | undefined) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        rateLimited++
        if (takenEpoch === epoch) {
          limit = Math.max(min, limit * backoff)
          epoch++
          decreases++
        }
        if (others > 0) limit = Math.max(min, Math.min(limit, others))
        else {
          // the server refuses even a lone request: a rate limit, so everybody waits
          pauses++
          pausedUntil = Math.max(pausedUntil, now + (retryAfterMillis ?? retryBaseMillis))
        }
        if (limit < minLimit) minLimit = limit
        return Effect.zipRight(Metric.increment(rateLimitedCounter), resize)
      })

    const onSuccess = Effect.suspend(() => {
      if (slotWaiters > 0 && limit < max && increase > 0) {
        const before = Math.floor(limit)
        limit = Math.min(max, limit + increase / Math.max(1, before))
        if (Math.floor(limit) > before) increases++
        return resize
      }
      return Effect.void
    })

    // Gives the slot of an attempt back and settles the buckets and the limit.
    const settle = (exit: Exit.Exit<unknown, unknown>, estimate: number, takenEpoch: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        inFlight--
        return Effect.zipRight(
          semaphore.release(1),
          Effect.suspend(() => {
            if (Exit.isSuccess(exit)) {
              const actual = tokensOf(exit.value)
              if (actual !== undefined) tokenEstimate = 0.8 * tokenEstimate + 0.2 * actual
              return tpm !== undefined && actual !== undefined ? Effect.zipRight(tpm.settle(estimate - actual), onSuccess) : onSuccess
            }
            const limited = rateLimitOf(exit.cause)
            const rated = limited === undefined ? Effect.void : onRateLimited(takenEpoch, inFlight, limited.retryAfterMillis)
            return tpm === undefined ? rated : Effect.zipRight(tpm.settle(estimate), rated)
          })
        )
      })

    // One attempt holding one slot. (Plain callbacks rather than generators: this runs on
    // every request.)
    const once = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<Exit.Exit<A, E>, never, R> =>
      Effect.uninterruptibleMask((restore) => {
        const estimate = tokenEstimate
        return Effect.flatMap(acquire(restore, estimate), () => {
          const takenEpoch = epoch
          // (uninterruptible here: the slot is settled whatever the attempt's exit)
          return Effect.flatMap(
            Effect.exit(restore(Effect.provideService(self, InsidePermit, true))),
            (exit) => Effect.as(settle(exit, estimate, takenEpoch), exit)
          )
        })
      })

    // After a 429 in `once`: waits and tries again until the deadline.
    const retryAfter = <A, E, R>(
      self: Effect.Effect<A, E, R>,
      exit: Exit.Exit<A, E>,
      limited: LmError.RateLimited,
      retry: number,
      deadline: number
    ): Effect.Effect<A, E, R> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const base = limited.retryAfterMillis ?? Math.min(60_000, retryBaseMillis * Math.pow(2, retry))
        // up to 10% later than asked, so that the refused calls do not all come back at once
        const wait = Math.round(base * (1 + 0.1 * (yield* Random.next)))
        if (now + wait > deadline) return yield* exit
        rateLimitRetries++
        yield* Effect.sleep(wait)
        return yield* attempt(self, retry + 1, deadline)
      })

    const attempt = <A, E, R>(self: Effect.Effect<A, E, R>, retry: number, deadline: number): Effect.Effect<A, E, R> =>
      Effect.flatMap(once(self), (exit) => {
        if (Exit.isSuccess(exit)) return exit
        const limited = rateLimitOf(exit.cause)
        return limited === undefined ? exit : retryAfter(self, exit, limited, retry, deadline)
      })

    const withPermit = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.clockWith((clock) =>
        Effect.flatMap(Deadline, (itemDeadline) =>
          attempt(
            self,
            0,
            Math.min(clock.unsafeCurrentTimeMillis() + maxWaitMillis, itemDeadline ?? Number.POSITIVE_INFINITY)
          )
        )
      )

    // Holds one slot until the scope closes; `slot` tells when it was taken and whether it is
    // still held (a 429 handler may run before or after the scope has closed).
    const slotScoped = (slot: { epoch: number; held: boolean }): Effect.Effect<void, never, Scope.Scope> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          acquire(restore, tokenEstimate),
          Effect.suspend(() => {
            slot.epoch = epoch
            slot.held = true
            return Effect.addFinalizer((exit) =>
              Effect.suspend(() => {
                slot.held = false
                inFlight--
                return Effect.zipRight(semaphore.release(1), Exit.isSuccess(exit) ? onSuccess : Effect.void)
              })
            )
          })
        )
      )

    const permitScoped: Effect.Effect<void, never, Scope.Scope> = Effect.suspend(() => slotScoped({ epoch, held: false }))

    // A stream attempt per slot, like `withPermit`: refused with a 429, it lowers the limit,
    // waits the server's Retry-After and is sent again, until the deadline.
    const withStreamPermit = <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
      Stream.unwrap(Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        const itemDeadline = yield* Deadline
        const deadline = Math.min(start + maxWaitMillis, itemDeadline ?? Number.POSITIVE_INFINITY)
        const attempt = (retry: number): Stream.Stream<A, E, R> =>
          Stream.suspend(() => {
            const slot = { epoch, held: false }
            const body = Stream.unwrapScoped(Effect.as(slotScoped(slot), Stream.provideService(self, InsidePermit, true)))
            // A 429 is an HTTP status: it comes before any part. (A failure after the first part
            // reaches us as `StreamFailed` from `Resilience`, which is not a rate limit, so a
            // started stream is never sent again; no per-chunk bookkeeping is needed for that.)
            return body.pipe(
              Stream.catchAllCause((cause) => {
                const limited = rateLimitOf(cause)
                if (limited === undefined) return Stream.failCause(cause)
                return Stream.unwrap(Effect.gen(function*() {
                  yield* onRateLimited(slot.epoch, inFlight - (slot.held ? 1 : 0), limited.retryAfterMillis)
                  const now = yield* Clock.currentTimeMillis
                  const base = limited.retryAfterMillis ?? Math.min(60_000, retryBaseMillis * Math.pow(2, retry))
                  const wait = Math.round(base * (1 + 0.1 * (yield* Random.next)))
                  if (now + wait > deadline) return Stream.failCause(cause)
                  rateLimitRetries++
                  yield* Effect.sleep(wait)
                  return attempt(retry + 1)
                }))
              })
            )
          })
        return attempt(0)
      }))

    // Called by `Resilience` on a 429 with Retry-After. Inside `withPermit` the 429 is handled
    // there; for streams this is how we learn about it.
    const pauseFor = (millis: number): Effect.Effect<void> =>
      Effect.flatMap(InsidePermit, (inside) =>
        inside ? Effect.void : Effect.suspend(() => onRateLimited(epoch, Math.max(0, inFlight - 1), millis)))

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
      rateLimitRetries,
      decreases,
      increases
    }))

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
