/**
 * A shared limiter of in-flight language-model requests, with a shared cool-down
 * after a rate limit.
 *
 * A permit is held only while a request is on the wire (for a stream: until the
 * stream ends). A call that sleeps before a retry holds no permit, so its slot
 * serves other calls meanwhile; but when the server answers 429 with a
 * `Retry-After`, the limiter pauses every new request until then, so the freed
 * slots do not hammer a server that asked us to wait.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"

/**
 * The limiter's operations.
 *
 * @since 0.1.0
 */
export interface Service {
  /** Most requests in flight at once. */
  readonly concurrency: number
  /** Waits out a pause, then runs the effect holding one permit. */
  readonly withPermit: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Waits out a pause, then holds one permit until the scope closes. */
  readonly permitScoped: Effect.Effect<void, never, Scope.Scope>
  /**
   * Optional: runs one stream attempt holding one permit for its life. A limiter that handles
   * 429s itself (as `withPermit` may) sends again a stream refused before its first part, so
   * that streamed and non-streamed calls treat a 429 alike; without it, `permitScoped` is used.
   */
  readonly withStreamPermit?: <A, E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A, E, R>
  /** Pauses new requests for this long from now (never shortens a longer pause). */
  readonly pauseFor: (millis: number) => Effect.Effect<void>
  /** Current state, for metrics and tests. */
  readonly stats: Effect.Effect<Stats>
}

/**
 * A snapshot of the limiter.
 *
 * @since 0.1.0
 */
export interface Stats {
  readonly inFlight: number
  readonly maxInFlight: number
  /** Epoch millis until which new requests wait (0 when not paused). */
  readonly pausedUntil: number
  /** How many pauses were requested (rate-limit hits that carried a wait). */
  readonly pauses: number
}

/**
 * The limiter service tag.
 *
 * @since 0.1.0
 */
export class Limiter extends Context.Tag("@effect-dspy/providers/Limiter")<Limiter, Service>() {}

/**
 * Makes a limiter allowing `concurrency` requests in flight.
 *
 * @since 0.1.0
 */
export const make = (options: { readonly concurrency: number }): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const concurrency = Math.max(1, Math.floor(options.concurrency))
    const semaphore = yield* Effect.makeSemaphore(concurrency)
    // Per-instance state, touched only in synchronous steps of the fiber runtime.
    let pausedUntil = 0
    let inFlight = 0
    let maxInFlight = 0
    let pauses = 0

    const awaitOpen: Effect.Effect<void> = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      pausedUntil > now ? Effect.zipRight(Effect.sleep(pausedUntil - now), awaitOpen) : Effect.void)

    const enter = Effect.sync(() => {
      inFlight++
      if (inFlight > maxInFlight) maxInFlight = inFlight
    })
    const exit = Effect.sync(() => {
      inFlight--
    })

    const withPermit = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.zipRight(awaitOpen, semaphore.withPermits(1)(Effect.ensuring(Effect.zipRight(enter, self), exit)))

    // Not `acquireRelease(semaphore.take(1), …)`: its acquire is uninterruptible, so a stream
    // interrupted while waiting for a slot could not stop until it got one. The wait stays
    // interruptible; once taken, the permit and its release are registered without a gap.
    const permitScoped: Effect.Effect<void, never, Scope.Scope> = Effect.zipRight(
      awaitOpen,
      Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          restore(semaphore.take(1)),
          Effect.zipRight(enter, Effect.addFinalizer(() => Effect.zipRight(exit, semaphore.release(1))))
        )
      )
    )

    const pauseFor = (millis: number): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          pauses++
          pausedUntil = Math.max(pausedUntil, now + Math.max(0, millis))
        }))

    const stats = Effect.map(Clock.currentTimeMillis, (now): Stats => ({
      inFlight,
      maxInFlight,
      pausedUntil: pausedUntil > now ? pausedUntil : 0,
      pauses
    }))

    return { concurrency, withPermit, permitScoped, pauseFor, stats }
  })

/**
 * A limiter layer.
 *
 * @since 0.1.0
 */
export const layer = (options: { readonly concurrency: number }): Layer.Layer<Limiter> =>
  Layer.effect(Limiter, make(options))
