import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"

const noop = (): void => {}

/**
 * A function to call when a streamed reply's first non-empty chunk arrives: it annotates the
 * current span (the LM call's `chat` span) with `gen_ai.request.stream`,
 * `gen_ai.response.time_to_first_chunk` (seconds since the tracker was made, on Effect's clock)
 * and Langfuse's `completion_start_time`; later calls cost a boolean test.
 *
 * A function called from the stream's consumer rather than a stream combinator: each stream
 * layer costs a channel executor per streamed call, a large part of a turn's setup. The span is
 * read from the context, not with `Effect.option(Effect.currentSpan)`: without a span, that
 * builds a `NoSuchElementException` (and its stack trace) on every streamed call.
 */
export const tracker: Effect.Effect<() => void> = Effect.withFiberRuntime((fiber) => {
  const span = Context.getOrElse(fiber.currentContext, Tracer.ParentSpan, () => undefined)
  if (span === undefined || span._tag !== "Span") return Effect.succeed(noop)
  return Effect.clockWith((clock) => {
    const start = clock.unsafeCurrentTimeNanos()
    let seen = false
    return Effect.succeed(() => {
      if (seen) return
      seen = true
      const now = clock.unsafeCurrentTimeNanos()
      span.attribute("gen_ai.request.stream", true)
      span.attribute("gen_ai.response.time_to_first_chunk", Number(now - start) / 1e9)
      span.attribute(
        "langfuse.observation.completion_start_time",
        new Date(Number(now / 1_000_000n)).toISOString()
      )
    })
  })
})
