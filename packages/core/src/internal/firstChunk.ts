import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/**
 * Annotates the current span (the LM call's `chat` span) when a streamed reply's first chunk
 * arrives: `gen_ai.request.stream`, `gen_ai.response.time_to_first_chunk` (seconds since the
 * stream was started, on Effect's clock) and Langfuse's `completion_start_time`.
 */
export const annotateFirstChunk = <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.unwrap(Effect.map(Clock.currentTimeNanos, (start) => {
    let seen = false
    return Stream.mapChunksEffect(self, (chunk) => {
      if (seen || chunk.length === 0) return Effect.succeed(chunk)
      seen = true
      return Effect.flatMap(Clock.currentTimeNanos, (now) =>
        Effect.annotateCurrentSpan({
          "gen_ai.request.stream": true,
          "gen_ai.response.time_to_first_chunk": Number(now - start) / 1e9,
          "langfuse.observation.completion_start_time": new Date(Number(now / 1_000_000n)).toISOString()
        })).pipe(Effect.as(chunk))
    })
  }))
