/**
 * An account's limits across every runner: requests and tokens per minute, enforced through
 * `@effect/experimental`'s `RateLimiter` on a shared store (`PgRateLimiterStore`), wrapped
 * around the process's own rate control (batch's `RateControl`: concurrency, AIMD on 429s,
 * local RPM/TPM).
 *
 * Each request on the wire takes one global request token inside its local slot (so a request
 * sent again after a 429 pays again), as a token bucket of one second's worth of requests (the
 * same burst as `RateControl`'s local bucket): a minute's limit does not go out in one burst.
 * Tokens per minute are charged by estimate before the request (a running average of the
 * requests seen) and settled once the reply reports its usage: the difference is charged (or
 * refunded), so that the next requests wait for it.
 *
 * When the store cannot be reached (the database restarting), a request waits and asks again:
 * a limit that cannot be checked is not treated as no limit.
 *
 * @since 0.2.0
 */
import type * as RateControl from "@effect-dspy/batch/RateControl"
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

/**
 * Options of a global limiter.
 *
 * @since 0.2.0
 */
export interface Options {
  /** The process's own rate control, which the global limits wrap. */
  readonly local: RateControl.Service
  /** Requests per minute for every process sharing `key`. */
  readonly requestsPerMinute?: number | undefined
  /** Tokens (prompt + completion) per minute for every process sharing `key`. */
  readonly tokensPerMinute?: number | undefined
  /** The account the limits belong to (every runner using one API key must use one key). */
  readonly key: string
  /** The token estimate of a request before any has completed. Default 1000. */
  readonly tokensPerRequest?: number | undefined
}

/**
 * The bucket of a per-minute limit: one second's worth at most at once.
 *
 * @since 0.2.0
 */
export const bucketOf = (perMinute: number): { readonly limit: number; readonly window: Duration.Duration } => {
  const burst = Math.max(1, Math.ceil(perMinute / 60))
  return { limit: burst, window: Duration.millis((burst * 60_000) / perMinute) }
}

/** Total tokens of a model response, when it reports them. */
const tokensOf = (value: unknown): number | undefined => {
  if (!Predicate.hasProperty(value, "usage")) return undefined
  const usage = value.usage
  if (Predicate.hasProperty(usage, "totalTokens") && typeof usage.totalTokens === "number") return usage.totalTokens
  const input = Predicate.hasProperty(usage, "inputTokens") && typeof usage.inputTokens === "number" ? usage.inputTokens : 0
  const output = Predicate.hasProperty(usage, "outputTokens") && typeof usage.outputTokens === "number" ? usage.outputTokens : 0
  return input + output > 0 ? input + output : undefined
}

/**
 * Wraps a rate control with the global limits. With neither limit set, it is the rate control itself.
 *
 * @since 0.2.0
 */
export const make = (options: Options): Effect.Effect<RateControl.Service, never, RateLimiter.RateLimiter> =>
  Effect.gen(function*() {
    const local = options.local
    const rpm = options.requestsPerMinute !== undefined && options.requestsPerMinute > 0 ? options.requestsPerMinute : undefined
    const tpm = options.tokensPerMinute !== undefined && options.tokensPerMinute > 0 ? options.tokensPerMinute : undefined
    if (rpm === undefined && tpm === undefined) return local
    const limiter = yield* RateLimiter.RateLimiter
    let estimate = Math.max(1, options.tokensPerRequest ?? 1000)

    const retryStore = Effect.retry(
      Schedule.exponential("100 millis", 2).pipe(Schedule.union(Schedule.spaced("2 seconds")))
    )
    const consumeOnce = (suffix: string, perMinute: number, tokens: number) => {
      const bucket = bucketOf(perMinute)
      return limiter.consume({
        algorithm: "token-bucket",
        onExceeded: "delay",
        key: `${options.key}:${suffix}`,
        limit: bucket.limit,
        window: bucket.window,
        tokens
      }).pipe(
        Effect.tapError((error) => Effect.logWarning(`global rate limit ${options.key}: ${error.message}; asking again`)),
        retryStore,
        Effect.orDie
      )
    }
    // More than a bucket's worth is charged in bucket-sized parts (the limiter refuses larger
    // ones); the debt makes the next requests wait. The wait of the last part is the one to keep.
    const consume = (suffix: string, perMinute: number, tokens: number): Effect.Effect<Duration.Duration> =>
      Effect.suspend(() => {
        const limit = bucketOf(perMinute).limit
        if (tokens <= limit) return Effect.map(consumeOnce(suffix, perMinute, tokens), (r) => r.delay)
        return Effect.zipRight(consumeOnce(suffix, perMinute, limit), consume(suffix, perMinute, tokens - limit))
      })
    // Waits for a request token and the estimated tokens; the estimate charged.
    const take: Effect.Effect<number> = Effect.gen(function*() {
      let wait = Duration.zero
      if (rpm !== undefined) wait = Duration.max(wait, yield* consume("rpm", rpm, 1))
      const charged = Math.round(estimate)
      if (tpm !== undefined) wait = Duration.max(wait, yield* consume("tpm", tpm, charged))
      if (Duration.greaterThan(wait, Duration.zero)) yield* Effect.sleep(wait)
      return charged
    })
    // Charges the difference between the reply's tokens and the estimate (refunds on failure).
    const settle = (exit: Exit.Exit<unknown, unknown>, charged: number): Effect.Effect<void> => {
      if (tpm === undefined) return Effect.void
      const actual = Exit.isSuccess(exit) ? tokensOf(exit.value) : 0
      if (actual === undefined) return Effect.void
      if (Exit.isSuccess(exit)) estimate = 0.8 * estimate + 0.2 * actual
      const difference = actual - charged
      return difference === 0 ? Effect.void : Effect.asVoid(consume("tpm", tpm, difference))
    }
    const guarded = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.flatMap(take, (charged) => Effect.onExit(self, (exit) => settle(exit, charged)))

    return {
      ...local,
      withPermit: (self) => local.withPermit(guarded(self)),
      withStreamPermit: (self) => local.withStreamPermit(Stream.unwrap(Effect.as(take, self)))
    } satisfies RateControl.Service
  })
