import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/**
 * Annotates the current span (the LM call's `chat` span) when a streamed reply's first chunk
 * arrives: `gen_ai.request.stream`, `gen_ai.response.time_to_first_chunk` (seconds since the
 * stream was started, on Effect's clock) and Langfuse's `completion_start_time`.
 *
 * The span and the clock are taken once when the stream starts, so that every chunk after
 * the first costs a boolean test (`mapChunks`), not an effect.
 */
export const annotateFirstChunk = <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.unwrap(Effect.clockWith((clock) =>
    Effect.map(Effect.option(Effect.currentSpan), (span) => {
      if (Option.isNone(span)) return self
      const start = clock.unsafeCurrentTimeNanos()
      let seen = false
      return Stream.mapChunks(self, (chunk) => {
        if (seen || chunk.length === 0) return chunk
        seen = true
        const now = clock.unsafeCurrentTimeNanos()
        span.value.attribute("gen_ai.request.stream", true)
        span.value.attribute("gen_ai.response.time_to_first_chunk", Number(now - start) / 1e9)
        span.value.attribute(
          "langfuse.observation.completion_start_time",
          new Date(Number(now / 1_000_000n)).toISOString()
        )
        return chunk
      })
    })
  ))
