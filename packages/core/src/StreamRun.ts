/**
 * Running and building streams on a hot path.
 *
 * @since 0.1.0
 */
import * as Channel from "effect/Channel"
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/**
 * `Stream.runForEachChunk` without its cost: that runs the stream in a forked fiber with two
 * deferreds and a child scope (hundreds of microseconds per streamed call on a loaded core).
 * This pulls in the caller's fiber, in a scope closed when the loop ends, fails or is
 * interrupted (which stops an upstream request at once), and does the same work.
 *
 * @example
 * ```ts
 * import { StreamRun } from "@effect-dspy/core"
 * import { Console, Stream } from "effect"
 *
 * const program = StreamRun.forEachChunk(Stream.make(1, 2, 3), (chunk) => Console.log(chunk))
 * ```
 *
 * @since 0.1.0
 */
export const forEachChunk = <A, E, R, E2, R2>(
  self: Stream.Stream<A, E, R>,
  f: (chunk: Chunk.Chunk<A>) => Effect.Effect<unknown, E2, R2>
): Effect.Effect<void, E | E2, R | R2> =>
  // The channel's own pull (`Stream.toPull` wraps every pull in two more steps to turn its
  // `Either` into an `Option` failure), in a scope closed with the loop's exit.
  Effect.flatMap(Scope.make(), (scope) =>
    Effect.onExit(
      Effect.flatMap(Channel.toPullIn(Stream.toChannel(self), scope), (pull) => {
        const loop: Effect.Effect<void, E | E2, R | R2> = Effect.flatMap(
          pull,
          (next) => Either.isLeft(next) ? Effect.void : Effect.zipRight(f(next.right), loop)
        )
        return loop
      }),
      (exit) => Scope.close(scope, exit)
    ))

/**
 * `Stream.unwrapScoped` without its cost per element: that flattens a stream of one stream, so
 * every chunk of the inner stream takes an extra channel-executor hand-off (a few microseconds
 * per chunk, per layer, on every token of a streamed answer). Here the scope opens when the
 * stream starts, the inner stream's chunks flow through as they are, and the scope closes with
 * the stream's exit (end, failure or interruption), after the inner stream's own finalizers.
 *
 * @example
 * ```ts
 * import { StreamRun } from "@effect-dspy/core"
 * import { Effect, Stream } from "effect"
 *
 * const numbers = StreamRun.unwrapScoped(
 *   Effect.as(Effect.addFinalizer(() => Effect.log("closed")), Stream.make(1, 2, 3))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const unwrapScoped = <A, E, R, E2, R2>(
  effect: Effect.Effect<Stream.Stream<A, E, R>, E2, R2>
): Stream.Stream<A, E | E2, R | Exclude<R2, Scope.Scope>> =>
  Stream.fromChannel(Channel.acquireUseRelease(
    Scope.make(),
    (scope) => Channel.unwrap(Effect.map(Scope.extend(effect, scope), Stream.toChannel)),
    (scope, exit) => Scope.close(scope, exit)
  ))

/**
 * `Stream.unwrap` without its cost per element (see `unwrapScoped`): the effect runs when the
 * stream starts, and the stream it makes is run in place.
 *
 * @example
 * ```ts
 * import { StreamRun } from "@effect-dspy/core"
 * import { Effect, Stream } from "effect"
 *
 * const numbers = StreamRun.unwrap(Effect.succeed(Stream.make(1, 2, 3)))
 * ```
 *
 * @since 0.1.0
 */
export const unwrap = <A, E, R, E2, R2>(
  effect: Effect.Effect<Stream.Stream<A, E, R>, E2, R2>
): Stream.Stream<A, E | E2, R | R2> => Stream.fromChannel(Channel.unwrap(Effect.map(effect, Stream.toChannel)))
