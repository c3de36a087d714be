/**
 * OpenTelemetry GenAI semantic-convention names, and time to first chunk for streams.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { Attributes as LangfuseAttributes } from "./Langfuse.js"

/**
 * The GenAI attribute names used on LM and tool spans.
 *
 * @since 0.1.0
 */
export const Attributes = {
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  system: "gen_ai.system",
  requestModel: "gen_ai.request.model",
  requestTemperature: "gen_ai.request.temperature",
  requestMaxTokens: "gen_ai.request.max_tokens",
  requestStream: "gen_ai.request.stream",
  responseModel: "gen_ai.response.model",
  responseId: "gen_ai.response.id",
  responseFinishReasons: "gen_ai.response.finish_reasons",
  responseTimeToFirstChunk: "gen_ai.response.time_to_first_chunk",
  usageInputTokens: "gen_ai.usage.input_tokens",
  usageOutputTokens: "gen_ai.usage.output_tokens",
  toolName: "gen_ai.tool.name",
  errorType: "error.type"
} as const

/**
 * Time to first chunk of streamed LM responses, in seconds (`gen_ai.client.operation.time_to_first_chunk`).
 *
 * @since 0.1.0
 */
export const timeToFirstChunkSeconds = Metric.histogram(
  "gen_ai.client.operation.time_to_first_chunk",
  // The bucket boundaries the GenAI conventions advise for this metric.
  MetricBoundaries.fromIterable([0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]),
  "Time to first chunk of a streamed LM response"
)

/**
 * Measures a stream's time to first chunk: when its first element arrives, annotates the
 * current span (the LM call's span, when the stream runs inside it) with
 * `gen_ai.response.time_to_first_chunk` (seconds, from when the stream was started),
 * `gen_ai.request.stream` and Langfuse's `completion_start_time`, and records the
 * `gen_ai.client.operation.time_to_first_chunk` histogram. Uses Effect's `Clock`.
 *
 * @example
 * ```ts
 * import { GenAi } from "@effect-dspy/telemetry"
 * import { LanguageModel } from "@effect/ai"
 * import { Effect, Stream } from "effect"
 *
 * const reply = LanguageModel.streamText({ prompt: "Hi" }).pipe(
 *   GenAi.timeToFirstChunk,
 *   Stream.runCollect,
 *   Effect.withSpan("chat my-model")
 * )
 * ```
 *
 * @since 0.1.0
 */
export const timeToFirstChunk = <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.unwrap(Effect.map(Clock.currentTimeNanos, (start) => {
    let seen = false
    return Stream.mapChunksEffect(self, (chunk) => {
      if (seen || chunk.length === 0) return Effect.succeed(chunk)
      seen = true
      return Effect.flatMap(Clock.currentTimeNanos, (now) => {
        const seconds = Number(now - start) / 1e9
        return Effect.flatMap(Effect.option(Effect.currentSpan), (span) => {
          if (Option.isSome(span)) {
            span.value.attribute(Attributes.responseTimeToFirstChunk, seconds)
            span.value.attribute(Attributes.requestStream, true)
            span.value.attribute(LangfuseAttributes.completionStartTime, new Date(Number(now / 1_000_000n)).toISOString())
          }
          return Metric.update(timeToFirstChunkSeconds, seconds)
        })
      }).pipe(Effect.as(chunk))
    })
  }))
