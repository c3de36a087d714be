/**
 * A shared limiter of in-flight language-model requests, with a shared cool-down after a rate
 * limit.
 *
 * A permit is held only while a request is on the wire (for a stream: until the stream ends):
 * `Resilience` takes one per attempt and gives it back before sleeping for a retry, so a slot
 * always means a request in flight. When a server answers 429 with a reset, `Resilience` calls
 * `pauseFor` with the server's wait, and new requests wait until then, so the freed slots do not
 * hammer a server that asked us to wait. The batch runner's rate control implements this same
 * interface.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

/**
 * The limiter's operations.
 *
 * @since 0.1.0
 */
export interface Service {
  /** Most requests in flight at once. */
  readonly concurrency: number
  /** Waits out a pause, then runs one attempt holding one permit. */
  readonly withPermit: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Waits out a pause, then runs one streamed attempt holding one permit for its life. */
  readonly withStreamPermit: <A, E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A, E, R>
  /** The shared cool-down: new requests wait this long from now (never shortens a longer pause). */
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
  /** How many pauses were requested (rate-limit answers that named a wait). */
  readonly pauses: number
}

/**
 * The limiter service tag: `Lm.layer` and `Resilience.layer` use the one in context.
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
    // Per-instance state, changed only in synchronous steps of the fiber runtime.
    let pausedUntil = 0
    let inFlight = 0
    let maxInFlight = 0
    let pauses = 0

    const awaitOpen: Effect.Effect<void> = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      pausedUntil > now ? Effect.zipRight(Effect.sleep(pausedUntil - now), awaitOpen) : Effect.void)

    const held = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          inFlight++
          if (inFlight > maxInFlight) maxInFlight = inFlight
        }),
        () => self,
        () => Effect.sync(() => inFlight--)
      )

    const withPermit = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.zipRight(awaitOpen, semaphore.withPermits(1)(held(self)))

    // The wait for a slot stays interruptible; once taken, its release is registered at once.
    const withStreamPermit = <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
      Stream.unwrapScoped(Effect.zipRight(
        awaitOpen,
        Effect.uninterruptibleMask((restore) =>
          Effect.zipRight(
            restore(semaphore.take(1)),
            Effect.sync(() => {
              inFlight++
              if (inFlight > maxInFlight) maxInFlight = inFlight
            })
          ).pipe(
            Effect.zipRight(Effect.addFinalizer(() => Effect.zipRight(Effect.sync(() => inFlight--), semaphore.release(1)))),
            Effect.as(self)
          )
        )
      ))

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

    return { concurrency, withPermit, withStreamPermit, pauseFor, stats }
  })

/**
 * A limiter layer.
 *
 * @since 0.1.0
 */
export const layer = (options: { readonly concurrency: number }): Layer.Layer<Limiter> =>
  Layer.effect(Limiter, make(options))
