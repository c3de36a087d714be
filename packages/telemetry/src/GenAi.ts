/**
 * The OpenTelemetry GenAI semantic conventions as this package writes them: attribute and
 * metric names of the current registry (no deprecated ones), the JSON shapes of
 * `gen_ai.input.messages`, `gen_ai.output.messages` and `gen_ai.system_instructions`, and time
 * to first chunk for streams.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/**
 * GenAI attribute names (the registry's current names).
 *
 * @since 0.1.0
 */
export const Attributes = {
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  agentName: "gen_ai.agent.name",
  agentDescription: "gen_ai.agent.description",
  requestModel: "gen_ai.request.model",
  requestTemperature: "gen_ai.request.temperature",
  requestMaxTokens: "gen_ai.request.max_tokens",
  requestStream: "gen_ai.request.stream",
  outputType: "gen_ai.output.type",
  responseModel: "gen_ai.response.model",
  responseId: "gen_ai.response.id",
  responseFinishReasons: "gen_ai.response.finish_reasons",
  responseTimeToFirstChunk: "gen_ai.response.time_to_first_chunk",
  usageInputTokens: "gen_ai.usage.input_tokens",
  usageOutputTokens: "gen_ai.usage.output_tokens",
  usageCacheReadInputTokens: "gen_ai.usage.cache_read.input_tokens",
  usageCacheCreationInputTokens: "gen_ai.usage.cache_creation.input_tokens",
  usageReasoningOutputTokens: "gen_ai.usage.reasoning.output_tokens",
  inputMessages: "gen_ai.input.messages",
  outputMessages: "gen_ai.output.messages",
  systemInstructions: "gen_ai.system_instructions",
  toolName: "gen_ai.tool.name",
  toolDescription: "gen_ai.tool.description",
  toolType: "gen_ai.tool.type",
  toolCallId: "gen_ai.tool.call.id",
  toolCallArguments: "gen_ai.tool.call.arguments",
  toolCallResult: "gen_ai.tool.call.result",
  tokenType: "gen_ai.token.type",
  errorType: "error.type",
  serverAddress: "server.address",
  serverPort: "server.port"
} as const

/**
 * Deprecated names and what replaced them. Spans recorded by this package's tracer carry the
 * replacement (a deprecated name is renamed, or dropped when its replacement is already set).
 *
 * @since 0.2.0
 */
export const deprecatedAttributes: Readonly<Record<string, string | undefined>> = {
  "gen_ai.system": "gen_ai.provider.name",
  "gen_ai.usage.prompt_tokens": "gen_ai.usage.input_tokens",
  "gen_ai.usage.completion_tokens": "gen_ai.usage.output_tokens",
  "gen_ai.openai.request.seed": "gen_ai.request.seed",
  "gen_ai.openai.request.service_tier": "openai.request.service_tier",
  "gen_ai.openai.response.service_tier": "openai.response.service_tier",
  "gen_ai.openai.response.system_fingerprint": "openai.response.system_fingerprint",
  "gen_ai.openai.request.response_format": undefined,
  "gen_ai.prompt": undefined,
  "gen_ai.completion": undefined
}

/**
 * The GenAI client metrics this package records (histograms).
 *
 * @since 0.2.0
 */
export const Metrics = {
  tokenUsage: "gen_ai.client.token.usage",
  operationDuration: "gen_ai.client.operation.duration",
  timeToFirstChunk: "gen_ai.client.operation.time_to_first_chunk"
} as const

/**
 * The `gen_ai.operation.name` values whose spans are model calls (Langfuse generations).
 *
 * @since 0.2.0
 */
export const modelOperations: ReadonlySet<string> = new Set(["chat", "text_completion", "generate_content", "embeddings"])

/**
 * One part of a message, as the conventions' message schemas define it.
 *
 * @since 0.2.0
 */
export type MessagePart =
  | { readonly type: "text"; readonly content: string }
  | { readonly type: "reasoning"; readonly content: string }
  | { readonly type: "tool_call"; readonly id: string | null; readonly name: string; readonly arguments?: unknown }
  | { readonly type: "tool_call_response"; readonly id: string | null; readonly response: unknown }
  | { readonly type: "uri"; readonly modality: string; readonly mime_type: string | null; readonly uri: string }
  | { readonly type: "blob"; readonly modality: string; readonly mime_type: string | null; readonly content: string }

/**
 * A message of `gen_ai.input.messages`.
 *
 * @since 0.2.0
 */
export interface InputMessage {
  readonly role: "system" | "user" | "assistant" | "tool"
  readonly parts: ReadonlyArray<MessagePart>
}

/**
 * A message of `gen_ai.output.messages`: one choice of the model.
 *
 * @since 0.2.0
 */
export interface OutputMessage {
  readonly role: "assistant"
  readonly parts: ReadonlyArray<MessagePart>
  readonly finish_reason: string
}

/**
 * A finish reason in the conventions' vocabulary (`stop`, `length`, `content_filter`,
 * `tool_call`, `error`); `@effect/ai`'s names are mapped, others kept.
 *
 * @since 0.2.0
 */
export const finishReason = (reason: string): string => {
  switch (reason) {
    case "content-filter":
      return "content_filter"
    case "tool-calls":
      return "tool_call"
    default:
      return reason
  }
}

/**
 * Measures a stream's time to first chunk: marks the current span (the LM call's span, when the
 * stream runs inside it) `gen_ai.request.stream` when the stream starts, and when its first
 * element arrives annotates it with `gen_ai.response.time_to_first_chunk` (seconds since the
 * stream was started, on Effect's `Clock`) and Langfuse's `completion_start_time`. The telemetry
 * layers record the `gen_ai.client.operation.time_to_first_chunk` histogram from the span when
 * it ends. Core's streamed calls measure this themselves; use it around `@effect/ai` streams
 * of your own.
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
 *   Effect.withSpan("chat my-model", { attributes: { "gen_ai.operation.name": "chat" } })
 * )
 * ```
 *
 * @since 0.1.0
 */
export const timeToFirstChunk = <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.unwrap(Effect.map(Effect.zip(Clock.currentTimeNanos, Effect.option(Effect.currentSpan)), ([start, current]) => {
    if (Option.isNone(current)) return self
    const span = current.value
    // Known from the start: a stream that fails before its first chunk was still a streamed request.
    span.attribute(Attributes.requestStream, true)
    let seen = false
    return Stream.mapChunksEffect(self, (chunk) => {
      if (seen || chunk.length === 0) return Effect.succeed(chunk)
      seen = true
      return Effect.map(Clock.currentTimeNanos, (now) => {
        span.attribute(Attributes.responseTimeToFirstChunk, Number(now - start) / 1e9)
        span.attribute("langfuse.observation.completion_start_time", new Date(Number(now / 1_000_000n)).toISOString())
        return chunk
      })
    })
  }))
