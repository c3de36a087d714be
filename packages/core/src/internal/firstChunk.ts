import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

const noop = (): void => {}

/**
 * A function to call when a streamed reply's first non-empty chunk arrives: it annotates the
 * current span (the LM call's `chat` span) with `gen_ai.request.stream`,
 * `gen_ai.response.time_to_first_chunk` (seconds since the tracker was made, on Effect's clock)
 * and Langfuse's `completion_start_time`; later calls cost a boolean test.
 *
 * A function called from the stream's consumer rather than a stream combinator: each stream
 * layer costs a channel executor per streamed call, a large part of a turn's setup.
 */
export const tracker: Effect.Effect<() => void> = Effect.clockWith((clock) =>
  Effect.map(Effect.option(Effect.currentSpan), (span) => {
    if (Option.isNone(span)) return noop
    const start = clock.unsafeCurrentTimeNanos()
    let seen = false
    return () => {
      if (seen) return
      seen = true
      const now = clock.unsafeCurrentTimeNanos()
      span.value.attribute("gen_ai.request.stream", true)
      span.value.attribute("gen_ai.response.time_to_first_chunk", Number(now - start) / 1e9)
      span.value.attribute(
        "langfuse.observation.completion_start_time",
        new Date(Number(now / 1_000_000n)).toISOString()
      )
    }
  })
)
