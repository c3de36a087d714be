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
import * as Tracer from "effect/Tracer"

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
  agentName: "gen_ai.agent.name",
  requestModel: "gen_ai.request.model",
  requestTemperature: "gen_ai.request.temperature",
  requestMaxTokens: "gen_ai.request.max_tokens",
  requestStream: "gen_ai.request.stream",
  responseModel: "gen_ai.response.model",
  responseId: "gen_ai.response.id",
  responseFinishReasons: "gen_ai.response.finish_reasons",
  responseTimeToFirstChunk: "gen_ai.response.time_to_first_chunk",
  outputType: "gen_ai.output.type",
  usageInputTokens: "gen_ai.usage.input_tokens",
  usageOutputTokens: "gen_ai.usage.output_tokens",
  usageCacheReadInputTokens: "gen_ai.usage.cache_read.input_tokens",
  usageReasoningOutputTokens: "gen_ai.usage.reasoning.output_tokens",
  toolName: "gen_ai.tool.name",
  toolDescription: "gen_ai.tool.description",
  toolType: "gen_ai.tool.type",
  errorType: "error.type",
  serverAddress: "server.address",
  serverPort: "server.port",
  // effect-dspy
  moduleKind: "dspy.module.kind",
  moduleName: "dspy.module.name",
  /** The predictor that made an LM call (`Support.react`, `Support.extract`): tells a module's calls apart. */
  predictor: "dspy.predictor",
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
  invokeAgent: "invoke_agent",
  executeTool: "execute_tool"
} as const

/**
 * The `gen_ai.provider.name` of a provider as effect-dspy names it (the model id's prefix): the
 * conventions' well-known value where one exists (`google` is `gcp.gemini`), the name itself
 * otherwise.
 *
 * @since 0.2.0
 */
export const providerName = (provider: string | undefined): string | undefined =>
  provider === undefined ? undefined : wellKnownProviders[provider] ?? provider

const wellKnownProviders: Readonly<Record<string, string>> = { google: "gcp.gemini" }

/**
 * The server of a provider's base URL as the conventions record it (`server.address` is the
 * host, an IPv6 one without brackets, `server.port` the port, the scheme's default when the URL names none); `undefined` for
 * a URL that does not parse.
 *
 * @since 0.2.0
 */
export const serverOf = (baseUrl: string): { readonly address: string; readonly port: number } | undefined => {
  if (!URL.canParse(baseUrl)) return undefined
  const url = new URL(baseUrl)
  const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : url.protocol === "http:" ? 80 : undefined
  // An IPv6 host without the URL's brackets.
  const address = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
  return port === undefined || address === "" ? undefined : { address, port }
}

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
 * The span of a module call: an agent (ReAct) is `invoke_agent {name}` with the conventions'
 * agent attributes (its usage totals are set when it ends, see `setUsage`); other
 * modules are `Kind(name)`, a chain for ChainOfThought and a plain span otherwise.
 *
 * @since 0.2.0
 */
export const moduleSpan = (module: {
  readonly name: string
  /** The module kind: `Predict`, `ChainOfThought`, `ReAct`, ..., `Module`. */
  readonly kind: string
  readonly signature: string
  /** The provider of the model in force (agents name it). */
  readonly provider?: string | undefined
}): Description => {
  const observationType = moduleObservationTypes[module.kind] ?? "span"
  const attributes: Record<string, unknown> = {
    [Attributes.moduleKind]: module.kind,
    [Attributes.moduleName]: module.name,
    [Attributes.signature]: module.signature,
    [Attributes.observationType]: observationType
  }
  if (observationType !== "agent") return { kind: "module", name: `${module.kind}(${module.name})`, spanKind: "internal", attributes }
  attributes[Attributes.operationName] = Operations.invokeAgent
  attributes[Attributes.agentName] = module.name
  const provider = providerName(module.provider)
  if (provider !== undefined) attributes[Attributes.providerName] = provider
  return { kind: "agent", name: `${Operations.invokeAgent} ${module.name}`, spanKind: "internal", attributes }
}

/**
 * Sets the usage attributes on a span: input and output tokens, and cached input and reasoning
 * tokens when the provider reported them (a backend prices cached tokens at their own rate only
 * when told how many there were). Counts not reported are left off.
 *
 * @since 0.2.0
 */
export const setUsage = (span: Tracer.Span, usage: {
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  readonly cachedInputTokens?: number | undefined
  readonly reasoningTokens?: number | undefined
}): void => {
  if (usage.inputTokens !== undefined) span.attribute(Attributes.usageInputTokens, usage.inputTokens)
  if (usage.outputTokens !== undefined) span.attribute(Attributes.usageOutputTokens, usage.outputTokens)
  if (usage.cachedInputTokens !== undefined) span.attribute(Attributes.usageCacheReadInputTokens, usage.cachedInputTokens)
  if (usage.reasoningTokens !== undefined) span.attribute(Attributes.usageReasoningOutputTokens, usage.reasoningTokens)
}

/**
 * The span of one LM call, named `chat {model}`: a generation. `predictor` names the predictor
 * that made the call, so that a module's several calls (ReAct's steps and its extraction) are
 * told apart; `outputType` is what the adapter asks the model to write (`json` for the JSON
 * adapter, `text` otherwise); `server` is the provider's endpoint (from its base URL).
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
  readonly predictor?: string | undefined
  readonly outputType?: "text" | "json" | undefined
  readonly server?: { readonly address: string; readonly port: number } | undefined
}): Description => {
  const attributes: Record<string, unknown> = {
    [Attributes.operationName]: Operations.chat,
    [Attributes.adapter]: call.adapter,
    [Attributes.signature]: call.signature,
    [Attributes.observationType]: "generation" satisfies ObservationType
  }
  // Unset options are left off (a tracer could export `undefined` as a string).
  if (call.provider !== undefined) attributes[Attributes.providerName] = providerName(call.provider)
  if (call.model !== undefined) attributes[Attributes.requestModel] = call.model
  if (call.temperature !== undefined) attributes[Attributes.requestTemperature] = call.temperature
  if (call.maxTokens !== undefined) attributes[Attributes.requestMaxTokens] = call.maxTokens
  if (call.outputType !== undefined) attributes[Attributes.outputType] = call.outputType
  if (call.predictor !== undefined) attributes[Attributes.predictor] = call.predictor
  if (call.server !== undefined) {
    attributes[Attributes.serverAddress] = call.server.address
    attributes[Attributes.serverPort] = call.server.port
  }
  return { kind: "lm", name: `${Operations.chat} ${call.model ?? "unknown"}`, spanKind: "client", attributes }
}

/**
 * The span of one tool call, named `execute_tool {tool}`: a function tool (run by this
 * program, its arguments written by the model).
 *
 * @since 0.2.0
 */
export const toolSpan = (tool: string, description?: string): Description => ({
  kind: "tool",
  name: `${Operations.executeTool} ${tool}`,
  spanKind: "internal",
  attributes: {
    [Attributes.operationName]: Operations.executeTool,
    [Attributes.toolName]: tool,
    ...(description === undefined || description === "" ? {} : { [Attributes.toolDescription]: description }),
    [Attributes.toolType]: "function",
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
 * Runs the effect `f` makes inside the described span, handing it the span itself (to set
 * attributes or give content without looking the span up again). `provide` sets references
 * (`Context.Reference` values) in the same step as the span: one context change per call
 * instead of two.
 *
 * @since 0.2.0
 */
export const useSpan = <A, E, R>(
  description: Description,
  f: (span: Tracer.Span) => Effect.Effect<A, E, R>,
  provide?: (context: Context.Context<never>) => Context.Context<never>
): Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>> =>
  Effect.useSpan(description.name, {
    kind: description.spanKind,
    attributes: description.attributes,
    captureStackTrace: false
  }, (span) =>
    Effect.mapInputContext(f(span), (context: Context.Context<Exclude<R, Tracer.ParentSpan>>) => {
      const inner: Context.Context<never> = Context.add(context, Tracer.ParentSpan, span)
      return (provide === undefined ? inner : provide(inner)) as Context.Context<R>
    }))

/**
 * Hands `input` to the content sink (if any) now, and returns the effect that hands the sink its
 * output once it succeeds: `withContent` for a caller that holds its span already.
 *
 * @since 0.2.0
 */
export const contentFor = <A, E, R>(
  sink: ContentSink | undefined,
  span: Tracer.Span,
  info: Omit<ContentInfo, "direction">,
  input: unknown,
  self: Effect.Effect<A, E, R>,
  output: (value: A) => unknown = (value) => value
): Effect.Effect<A, E, R> => {
  if (sink === undefined) return self
  sink(span, input, { ...info, direction: "input" })
  return Effect.tap(self, (value) => {
    sink(span, output(value), { ...info, direction: "output" })
  })
}

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
 * first chunk in seconds and Langfuse's completion start time. (`gen_ai.request.stream` is set
 * when the streamed request starts.)
 *
 * @since 0.2.0
 */
export const firstChunkAttributes = (startNanos: bigint, nowNanos: bigint): Readonly<Record<string, unknown>> => ({
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
