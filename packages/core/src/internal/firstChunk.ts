import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as GenAiSpan from "../GenAiSpan.js"

/**
 * A function to call when a streamed reply's first non-empty chunk arrives: it annotates the
 * current span (the LM call's generation span) with `GenAiSpan.firstChunkAttributes`, timed on
 * Effect's clock from when the tracker was made; later calls cost a boolean test. Made before
 * the streamed request is sent, it marks the span `gen_ai.request.stream` at once (a stream that
 * fails before its first chunk was still a streamed request).
 */
export const tracker: Effect.Effect<() => void> = Effect.gen(function*() {
  const span = yield* Effect.option(Effect.currentSpan)
  if (Option.isNone(span)) return () => {}
  span.value.attribute(GenAiSpan.Attributes.requestStream, true)
  const clock = yield* Effect.clock
  const start = clock.unsafeCurrentTimeNanos()
  let seen = false
  return () => {
    if (seen) return
    seen = true
    const attributes = GenAiSpan.firstChunkAttributes(start, clock.unsafeCurrentTimeNanos())
    for (const key in attributes) span.value.attribute(key, attributes[key])
  }
})
