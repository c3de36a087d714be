/**
 * Running a stream on a hot path.
 *
 * @since 0.1.0
 */
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
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
 */
export const forEachChunk = <A, E, R, E2, R2>(
  self: Stream.Stream<A, E, R>,
  f: (chunk: Chunk.Chunk<A>) => Effect.Effect<unknown, E2, R2>
): Effect.Effect<void, E | E2, R | R2> =>
  Effect.scoped(Effect.flatMap(Stream.toPull(self), (pull) => {
    const loop: Effect.Effect<void, E | E2, R | R2> = Effect.matchEffect(pull, {
      onFailure: Option.match({ onNone: () => Effect.void, onSome: Effect.fail }),
      onSuccess: (chunk) => Effect.zipRight(f(chunk), loop)
    })
    return loop
  }))
