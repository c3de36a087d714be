/**
 * The spans of a program, as a protocol between packages: core makes them, providers run their
 * requests inside them, telemetry exports them (OTLP, Langfuse) and renders their content. The
 * span kinds, their names and attribute keys, what makes a span a generation, the Langfuse
 * observation types and the content sink are defined here, once; no package spells them itself.
 *
 * Attribute keys follow the OpenTelemetry GenAI semantic conventions (`gen_ai.*`), next to
 * effect-dspy's own (`dspy.*`) and the ones Langfuse reads (`langfuse.*`). To add a convention,
 * add its key to `Attributes` and set it where the span is described (`moduleSpan`, `lmSpan`,
 * `toolSpan`).
 *
 * @example
 * ```ts
 * import { GenAiSpan } from "@effect-dspy/core"
 * import { Effect } from "effect"
 *
 * // A span that Langfuse and OTLP backends show as a tool call.
 * const lookup = Effect.succeed("shipped").pipe(GenAiSpan.withSpan(GenAiSpan.toolSpan("lookup_order")))
 * ```
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"

/**
 * The kinds of span: a module call, an agent (a module that picks its own steps, ReAct), one
 * LM call, one tool call.
 *
 * @since 0.2.0
 */
export type Kind = "module" | "agent" | "lm" | "tool"

/**
 * The attribute keys set on spans.
 *
 * @since 0.2.0
 */
export const Attributes = {
  // OpenTelemetry GenAI semantic conventions
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  /** The older name of `gen_ai.provider.name`, still read by some backends. */
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
  errorType: "error.type",
  // effect-dspy
  moduleKind: "dspy.module.kind",
  moduleName: "dspy.module.name",
  signature: "dspy.signature",
  adapter: "dspy.adapter",
  // Langfuse
  observationType: "langfuse.observation.type",
  observationInput: "langfuse.observation.input",
  observationOutput: "langfuse.observation.output",
  completionStartTime: "langfuse.observation.completion_start_time"
} as const

/**
 * The `gen_ai.operation.name` values in use.
 *
 * @since 0.2.0
 */
export const Operations = {
  chat: "chat",
  executeTool: "execute_tool"
} as const

/**
 * Langfuse observation types (`langfuse.observation.type`).
 *
 * @since 0.2.0
 */
export type ObservationType =
  | "span"
  | "generation"
  | "event"
  | "agent"
  | "tool"
  | "chain"
  | "retriever"
  | "evaluator"
  | "embedding"
  | "guardrail"

/**
 * A span to make: its kind, name, OpenTelemetry span kind and attributes.
 *
 * @since 0.2.0
 */
export interface Description {
  readonly kind: Kind
  readonly name: string
  readonly spanKind: Tracer.SpanKind
  readonly attributes: Readonly<Record<string, unknown>>
}

// Module kinds that are not plain spans in Langfuse.
const moduleObservationTypes: Readonly<Record<string, ObservationType>> = { ChainOfThought: "chain", ReAct: "agent" }

/**
 * The span of a module call, named `Kind(name)`: an agent span for ReAct, a chain for
 * ChainOfThought, a plain span otherwise.
 *
 * @since 0.2.0
 */
export const moduleSpan = (module: {
  readonly name: string
  /** The module kind: `Predict`, `ChainOfThought`, `ReAct`, ..., `Module`. */
  readonly kind: string
  readonly signature: string
}): Description => {
  const observationType = moduleObservationTypes[module.kind] ?? "span"
  return {
    kind: observationType === "agent" ? "agent" : "module",
    name: `${module.kind}(${module.name})`,
    spanKind: "internal",
    attributes: {
      [Attributes.moduleKind]: module.kind,
      [Attributes.moduleName]: module.name,
      [Attributes.signature]: module.signature,
      [Attributes.observationType]: observationType
    }
  }
}

/**
 * The span of one LM call, named `chat {model}`: a generation.
 *
 * @since 0.2.0
 */
export const lmSpan = (call: {
  readonly provider?: string | undefined
  readonly model?: string | undefined
  readonly temperature?: number | undefined
  readonly maxTokens?: number | undefined
  readonly adapter: string
  readonly signature: string
}): Description => ({
  kind: "lm",
  name: `${Operations.chat} ${call.model ?? "unknown"}`,
  spanKind: "client",
  attributes: {
    [Attributes.operationName]: Operations.chat,
    [Attributes.providerName]: call.provider,
    [Attributes.system]: call.provider,
    [Attributes.requestModel]: call.model,
    [Attributes.requestTemperature]: call.temperature,
    [Attributes.requestMaxTokens]: call.maxTokens,
    [Attributes.adapter]: call.adapter,
    [Attributes.signature]: call.signature,
    [Attributes.observationType]: "generation" satisfies ObservationType
  }
})

/**
 * The span of one tool call, named `execute_tool {tool}`.
 *
 * @since 0.2.0
 */
export const toolSpan = (tool: string): Description => ({
  kind: "tool",
  name: `${Operations.executeTool} ${tool}`,
  spanKind: "internal",
  attributes: {
    [Attributes.operationName]: Operations.executeTool,
    [Attributes.toolName]: tool,
    [Attributes.observationType]: "tool" satisfies ObservationType
  }
})

/**
 * Runs an effect inside the described span (the parent of every span made inside it).
 *
 * @since 0.2.0
 */
export const withSpan = (description: Description) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withSpan(self, description.name, {
    kind: description.spanKind,
    attributes: description.attributes,
    captureStackTrace: false
  })

/**
 * Whether a span is a generation (one LM call: core's `chat {model}` span), the span that
 * carries an LM call's model, usage and content.
 *
 * @since 0.2.0
 */
export const isGeneration = (span: Tracer.AnySpan): span is Tracer.Span =>
  span._tag === "Span" && span.attributes.get(Attributes.observationType) === ("generation" satisfies ObservationType)

/**
 * The kind of a span made by `withSpan` from a description here, read back from its
 * attributes; `undefined` for any other span.
 *
 * @since 0.2.0
 */
export const kindOf = (span: Tracer.AnySpan): Kind | undefined => {
  if (span._tag !== "Span") return undefined
  switch (span.attributes.get(Attributes.observationType)) {
    case "generation":
      return "lm"
    case "tool":
      return span.attributes.has(Attributes.toolName) ? "tool" : undefined
    case "agent":
      return span.attributes.has(Attributes.moduleKind) ? "agent" : undefined
    default:
      return span.attributes.has(Attributes.moduleKind) ? "module" : undefined
  }
}

/**
 * Whether a span name is one of `@effect/ai`'s own (`LanguageModel.generateText`,
 * `LanguageModel.streamText`, ...): inside a generation it describes the same call again.
 *
 * @since 0.2.0
 */
export const isLanguageModelSpan = (name: string): boolean => name.startsWith("LanguageModel.")

/**
 * Whether a span is `@effect/platform`'s HTTP client span (`http.client POST`): inside a
 * generation it is the provider's request for that call.
 *
 * @since 0.2.0
 */
export const isHttpClientSpan = (name: string, kind: Tracer.SpanKind): boolean =>
  kind === "client" && name.startsWith("http.client")

/**
 * Whether an attribute key belongs to the GenAI semantic conventions.
 *
 * @since 0.2.0
 */
export const isGenAiAttribute = (key: string): boolean => key.startsWith("gen_ai.")

/**
 * The attributes a streamed LM call's span gets when its first chunk arrives: the time to
 * first chunk in seconds, `gen_ai.request.stream` and Langfuse's completion start time.
 *
 * @since 0.2.0
 */
export const firstChunkAttributes = (startNanos: bigint, nowNanos: bigint): Readonly<Record<string, unknown>> => ({
  [Attributes.requestStream]: true,
  [Attributes.responseTimeToFirstChunk]: Number(nowNanos - startNanos) / 1e9,
  [Attributes.completionStartTime]: new Date(Number(nowNanos / 1_000_000n)).toISOString()
})

// ---------------------------------------------------------------------------------------------
// Content capture
// ---------------------------------------------------------------------------------------------

/**
 * Which span a captured value belongs to, and whether it went in or came out. An agent's
 * content is a module's (its input and output).
 *
 * @since 0.2.0
 */
export interface ContentInfo {
  readonly span: "module" | "lm" | "tool"
  readonly direction: "input" | "output"
  /** Module name, model name or tool name. */
  readonly name: string
}

/**
 * Receives one value of one span: a module's input and output, an LM call's `Prompt` and
 * reply text, a tool's decoded arguments and its observation. Called on the caller's fiber:
 * keep references, render later (rendering, redaction and masking are the sink's).
 *
 * @since 0.2.0
 */
export type ContentSink = (span: Tracer.Span, value: unknown, info: ContentInfo) => void

/**
 * The content sink in force; none by default, so that nothing is captured. A telemetry layer
 * installs one.
 *
 * @since 0.2.0
 */
export class CurrentContentSink extends Context.Reference<CurrentContentSink>()(
  "@effect-dspy/core/GenAiSpan/CurrentContentSink",
  { defaultValue: (): ContentSink | undefined => undefined }
) {}

/**
 * Runs an effect handing `input` to the content sink in force before it starts and its output
 * (or what `output` makes of it) once it succeeds, with the current span; without a sink the
 * effect runs as it is. Use it inside the span the content belongs to.
 *
 * @since 0.2.0
 */
export const withContent = <A>(
  info: Omit<ContentInfo, "direction">,
  input: unknown,
  output: (value: A) => unknown = (value) => value
) =>
<E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(CurrentContentSink, (sink) =>
    sink === undefined ? self : Effect.flatMap(Effect.option(Effect.currentSpan), (span) => {
      if (Option.isNone(span)) return self
      sink(span.value, input, { ...info, direction: "input" })
      return Effect.tap(self, (value) => {
        sink(span.value, output(value), { ...info, direction: "output" })
      })
    }))
