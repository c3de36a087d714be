/**
 * `LanguageModel` layers chosen by a model id string, wrapped in the resilient call
 * policy, and `layerFromEnv`, which reads the model and keys from `Config` and
 * falls back to the offline simulator when no key is configured.
 *
 * @example
 * ```ts
 * import { Predict, Signature } from "@effect-dspy/core"
 * import { Lm } from "@effect-dspy/providers"
 * import { Effect } from "effect"
 *
 * const program = Predict.make(Signature.fromString("question -> answer"))({ question: "Why?" })
 * const onOpenAi = program.pipe(Effect.provide(Lm.layer("openai/gpt-4o-mini", { timeout: "30 seconds" })))
 * const fromEnv = program.pipe(Effect.provide(Lm.layerFromEnv))
 * ```
 *
 * @since 0.1.0
 */
import { LmConfig, type Settings } from "@effect-dspy/core/LmConfig"
// The submodule, not the index: the library must not load the simulator's HTTP server.
import * as Simulator from "@effect-dspy/simulator/Simulator"
// Types only: the generated clients are loaded when a layer for their provider is built.
import type * as AnthropicLanguageModel from "@effect/ai-anthropic/AnthropicLanguageModel"
import type * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as ChatCompletions from "./ChatCompletions.js"
import { defaultHttpClient, nodeHttpClient } from "./internal/httpClient.js"
import { secure } from "./internal/secureClient.js"
import type * as Limiter from "./Limiter.js"
import { loadAnthropic, loadOpenAi } from "./internal/providerModules.js"
import * as ModelId from "./ModelId.js"
import * as Resilience from "./Resilience.js"

/**
 * A provider needs a setting (API key, base URL) that is not configured.
 *
 * @since 0.1.0
 */
export class MissingConfiguration
  extends Schema.TaggedError<MissingConfiguration>("@effect-dspy/providers/MissingConfiguration")(
    "MissingConfiguration",
    { modelId: Schema.String, variable: Schema.String }
  )
{
  override get message(): string {
    return `Model ${JSON.stringify(this.modelId)} needs ${this.variable}: set it in the environment ` +
      `(or pass it in the options of Lm.layer), or use Lm.layerFromEnv to fall back to the offline simulator.`
  }
}

/**
 * Why a model layer could not be built.
 *
 * @since 0.1.0
 */
export type SetupError = ModelId.InvalidModelId | MissingConfiguration | ConfigError.ConfigError

/**
 * Options of `layer`.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The API key; by default from `OPENAI_API_KEY` / `ANTHROPIC_API_KEY` / `OPENAI_COMPATIBLE_API_KEY`. */
  readonly apiKey?: Redacted.Redacted | undefined
  /** The base URL; by default from `OPENAI_BASE_URL` / `ANTHROPIC_BASE_URL` / `OPENAI_COMPATIBLE_BASE_URL`. */
  readonly baseUrl?: string | undefined
  /** The retry policy, or `false` for a single attempt. Default `Resilience.defaults`. */
  readonly retry?: Resilience.Policy | false | undefined
  /** Per-attempt timeout (shorthand for `retry.timeout`). */
  readonly timeout?: Duration.DurationInput | undefined
  /** A shared limiter of in-flight requests; by default the `Limiter` in context, if any. */
  readonly limiter?: Limiter.Service | undefined
  /** Extra HTTP headers for `openai-compatible` models. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Options of the in-process simulator for `simulator/…` models. */
  readonly simulator?: Simulator.Options | undefined
}

const optionalRedacted = (name: string): Config.Config<Option.Option<Redacted.Redacted>> =>
  Config.option(Config.redacted(name)).pipe(
    // An empty variable counts as unset.
    Config.map(Option.filter((r) => Redacted.value(r).trim() !== ""))
  )

const optionalString = (name: string): Config.Config<Option.Option<string>> =>
  Config.option(Config.string(name)).pipe(Config.map(Option.filter((s) => s.trim() !== "")))

const secretsOf = (key: Redacted.Redacted | undefined): ReadonlyArray<Redacted.Redacted> => key === undefined ? [] : [key]

const policyOf = (options: Options): Resilience.Policy => {
  const base: Resilience.Policy = options.retry === false ? Resilience.noRetry : options.retry ?? {}
  return options.timeout === undefined ? base : { ...base, timeout: options.timeout }
}

// Maps core's per-call settings onto a provider's own Config tag, per call.
const withProviderSettings = <I, S extends object>(
  service: LanguageModel.Service,
  tag: Context.Tag<I, S>,
  toConfig: (settings: Settings) => S | undefined
): LanguageModel.Service => {
  const apply = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(LmConfig, (settings) => {
      const overrides = toConfig(settings)
      if (overrides === undefined) return self
      return Effect.flatMap(
        Effect.serviceOption(tag),
        (current) => Effect.provideService(self, tag, { ...Option.getOrUndefined(current), ...overrides })
      )
    })
  const applyStream = <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
    Stream.unwrap(Effect.flatMap(LmConfig, (settings) => {
      const overrides = toConfig(settings)
      if (overrides === undefined) return Effect.succeed(self)
      return Effect.map(
        Effect.serviceOption(tag),
        (current) =>
          // Providing a service only removes a requirement: the stream keeps R.
          Stream.provideService(self, tag, { ...Option.getOrUndefined(current), ...overrides }) as Stream.Stream<A, E, R>
      )
    }))
  return {
    generateText: (options) => apply(service.generateText(options)),
    generateObject: (options) => apply(service.generateObject(options)),
    streamText: (options) => applyStream(service.streamText(options))
  }
}

const defined = <T extends Record<string, unknown>>(record: T): T | undefined => {
  const out: Record<string, unknown> = {}
  let any = false
  for (const key in record) {
    if (record[key] !== undefined) {
      out[key] = record[key]
      any = true
    }
  }
  return any ? (out as T) : undefined
}

const openAiSettings = (s: Settings): OpenAiLanguageModel.Config.Service | undefined =>
  defined({ temperature: s.temperature, max_output_tokens: s.maxTokens, top_p: s.topP })

const anthropicSettings = (s: Settings): AnthropicLanguageModel.Config.Service | undefined => {
  const out: { temperature?: number; max_tokens?: number; top_p?: number } = {}
  if (s.temperature !== undefined) out.temperature = s.temperature
  if (s.maxTokens !== undefined) out.max_tokens = s.maxTokens
  if (s.topP !== undefined) out.top_p = s.topP
  return Object.keys(out).length === 0 ? undefined : out
}

// Names the model for core's LM spans and events (`chat {model}`, gen_ai.provider.name,
// gen_ai.request.model), which read them from `LmConfig`. The other settings in force where
// the layer is built are kept; `LmConfig.withSettings` inside the program still wins.
const nameModel = (id: ModelId.ModelId): Layer.Layer<LmConfig> =>
  Layer.effect(LmConfig, Effect.map(LmConfig, (current) => ({ ...current, provider: id.provider, model: id.model })))

const wrapped = (
  id: ModelId.ModelId,
  modelId: string,
  options: Options,
  secrets: ReadonlyArray<Redacted.Redacted>,
  inner: Layer.Layer<LanguageModel.LanguageModel, never, HttpClient.HttpClient>
): Layer.Layer<LanguageModel.LanguageModel | LmConfig, never, HttpClient.HttpClient> =>
  Layer.merge(
    Resilience.layer({ policy: policyOf(options), provider: modelId, secrets, limiter: options.limiter }).pipe(
      Layer.provide(inner)
    ),
    nameModel(id)
  )

/**
 * A `LanguageModel` layer for a model id, using the `HttpClient` in context.
 *
 * It also sets `provider` and `model` of core's `LmConfig` (merged over the settings
 * in force where it is built), so LM spans are named `chat {model}`. A provider's
 * client module is loaded only when its layer is built.
 *
 * @since 0.1.0
 */
export const layerWithoutHttpClient = (
  modelId: string,
  options: Options = {}
): Layer.Layer<LanguageModel.LanguageModel, SetupError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const id = yield* ModelId.parse(modelId)
    switch (id.provider) {
      case "openai": {
        const apiKey = options.apiKey ?? Option.getOrUndefined(yield* optionalRedacted("OPENAI_API_KEY"))
        const apiUrl = options.baseUrl ?? Option.getOrUndefined(yield* optionalString("OPENAI_BASE_URL"))
        if (apiKey === undefined && apiUrl === undefined) {
          return yield* new MissingConfiguration({ modelId, variable: "OPENAI_API_KEY" })
        }
        const { OpenAiClient, OpenAiLanguageModel } = yield* loadOpenAi(modelId)
        const model = Layer.effect(
          LanguageModel.LanguageModel,
          Effect.map(
            OpenAiLanguageModel.make({ model: id.model }),
            (service) => withProviderSettings(service, OpenAiLanguageModel.Config, openAiSettings)
          )
        ).pipe(Layer.provide(OpenAiClient.layer({ apiKey, apiUrl, transformClient: secure(secretsOf(apiKey)) })))
        return wrapped(id, modelId, options, secretsOf(apiKey), model)
      }
      case "anthropic": {
        const apiKey = options.apiKey ?? Option.getOrUndefined(yield* optionalRedacted("ANTHROPIC_API_KEY"))
        const apiUrl = options.baseUrl ?? Option.getOrUndefined(yield* optionalString("ANTHROPIC_BASE_URL"))
        if (apiKey === undefined && apiUrl === undefined) {
          return yield* new MissingConfiguration({ modelId, variable: "ANTHROPIC_API_KEY" })
        }
        const { AnthropicClient, AnthropicLanguageModel } = yield* loadAnthropic(modelId)
        const model = Layer.effect(
          LanguageModel.LanguageModel,
          Effect.map(
            AnthropicLanguageModel.make({ model: id.model }),
            (service) => withProviderSettings(service, AnthropicLanguageModel.Config, anthropicSettings)
          )
        ).pipe(Layer.provide(AnthropicClient.layer({ apiKey, apiUrl, transformClient: secure(secretsOf(apiKey)) })))
        return wrapped(id, modelId, options, secretsOf(apiKey), model)
      }
      case "openai-compatible": {
        const apiUrl = options.baseUrl ?? Option.getOrUndefined(yield* optionalString("OPENAI_COMPATIBLE_BASE_URL"))
        if (apiUrl === undefined) {
          return yield* new MissingConfiguration({ modelId, variable: "OPENAI_COMPATIBLE_BASE_URL" })
        }
        const apiKey = options.apiKey ?? Option.getOrUndefined(yield* optionalRedacted("OPENAI_COMPATIBLE_API_KEY"))
        const model = ChatCompletions.layer({ model: id.model, apiUrl, apiKey, headers: options.headers })
        return wrapped(id, modelId, options, secretsOf(apiKey), model)
      }
      case "simulator": {
        const model = Simulator.layer({ model: id.model, ...options.simulator })
        return wrapped(id, modelId, options, [], model)
      }
    }
  }))

/**
 * A `LanguageModel` layer for a model id (`"openai/…"`, `"anthropic/…"`,
 * `"openai-compatible/…"`, `"simulator/…"`), over undici on Node (`fetch` elsewhere).
 *
 * @example
 * ```ts
 * import { Lm } from "@effect-dspy/providers"
 *
 * const Model = Lm.layer("openai-compatible/llama3.1:8b", { baseUrl: "http://localhost:11434/v1" })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (
  modelId: string,
  options: Options = {}
): Layer.Layer<LanguageModel.LanguageModel, SetupError> =>
  layerWithoutHttpClient(modelId, options).pipe(Layer.provide(defaultHttpClient))

/**
 * The HTTP client `layer` and `layerFromEnv` use: undici on Node, `fetch` elsewhere.
 *
 * @since 0.1.0
 */
export const httpClientLayer: Layer.Layer<HttpClient.HttpClient> = defaultHttpClient

/**
 * An HTTP client over `node:http` (Node only), for `layerWithoutHttpClient` /
 * `layerFromEnvWithoutHttpClient`: it writes each request the moment it is made, where the
 * default (undici) writes a request on a reused connection one event-loop turn later, after
 * every reply that arrived in that turn was processed. For many concurrent calls whose replies
 * come back together (a batch at a fixed concurrency against one endpoint) that keeps every
 * round as slow as its slowest reply's processing; this client lets them spread out. It costs
 * more client CPU per call at high concurrency (10-50% per prediction at concurrency 64: `HTTP_CLIENT=lean` in `packages/bench/src/predict-overhead.ts`).
 *
 * @example
 * ```ts
 * import { Lm } from "@effect-dspy/providers"
 * import { Layer } from "effect"
 *
 * const model = Lm.layerWithoutHttpClient("openai/gpt-4o-mini").pipe(Layer.provide(Lm.nodeHttpClientLayer))
 * ```
 *
 * @since 0.1.0
 */
export const nodeHttpClientLayer: Layer.Layer<HttpClient.HttpClient> = nodeHttpClient

/**
 * The simulator model used when no provider is configured.
 *
 * @since 0.1.0
 */
export const fallbackModelId = "simulator/sim-1"

/**
 * Chooses the model id from `Config`: `EFFECT_DSPY_MODEL` if set; otherwise
 * `openai/gpt-4o-mini` with `OPENAI_API_KEY`, `anthropic/claude-3-5-haiku-latest`
 * with `ANTHROPIC_API_KEY`, else the simulator. A model whose key (or base URL) is
 * missing is replaced by the simulator; `fallback` then says why.
 *
 * @since 0.1.0
 */
export const resolveFromEnv: Effect.Effect<
  { readonly modelId: string; readonly fallback: string | undefined },
  ModelId.InvalidModelId | ConfigError.ConfigError
> = Effect.gen(function*() {
  const requested = yield* optionalString("EFFECT_DSPY_MODEL")
  const openAiKey = yield* optionalRedacted("OPENAI_API_KEY")
  const anthropicKey = yield* optionalRedacted("ANTHROPIC_API_KEY")
  const fallbackModel = fallbackModelId.slice(fallbackModelId.indexOf("/") + 1)
  if (Option.isNone(requested)) {
    if (Option.isSome(openAiKey)) return { modelId: "openai/gpt-4o-mini", fallback: undefined }
    if (Option.isSome(anthropicKey)) return { modelId: "anthropic/claude-3-5-haiku-latest", fallback: undefined }
    return { modelId: fallbackModelId, fallback: `no OPENAI_API_KEY: using the offline simulator (${fallbackModel})` }
  }
  const id = yield* ModelId.parse(requested.value)
  const missing = (variable: string) => ({
    modelId: fallbackModelId,
    fallback: `no ${variable}: using the offline simulator (${fallbackModel}) instead of ${requested.value}`
  })
  switch (id.provider) {
    case "openai":
      return Option.isSome(openAiKey) || Option.isSome(yield* optionalString("OPENAI_BASE_URL"))
        ? { modelId: requested.value, fallback: undefined }
        : missing("OPENAI_API_KEY")
    case "anthropic":
      return Option.isSome(anthropicKey) || Option.isSome(yield* optionalString("ANTHROPIC_BASE_URL"))
        ? { modelId: requested.value, fallback: undefined }
        : missing("ANTHROPIC_API_KEY")
    case "openai-compatible":
      return Option.isSome(yield* optionalString("OPENAI_COMPATIBLE_BASE_URL"))
        ? { modelId: requested.value, fallback: undefined }
        : missing("OPENAI_COMPATIBLE_BASE_URL")
    case "simulator":
      return { modelId: requested.value, fallback: undefined }
  }
})

/**
 * Like `layerFromEnv`, using the `HttpClient` in context.
 *
 * @since 0.1.0
 */
export const layerFromEnvWithoutHttpClient = (
  options: Options = {}
): Layer.Layer<LanguageModel.LanguageModel, SetupError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const { fallback, modelId } = yield* resolveFromEnv
    if (fallback !== undefined) yield* Effect.logInfo(fallback)
    return layerWithoutHttpClient(modelId, options)
  }))

/**
 * The `LanguageModel` named by `EFFECT_DSPY_MODEL` (keys from `OPENAI_API_KEY`,
 * `ANTHROPIC_API_KEY`, `OPENAI_COMPATIBLE_API_KEY`; base URLs from `OPENAI_BASE_URL`,
 * `ANTHROPIC_BASE_URL`, `OPENAI_COMPATIBLE_BASE_URL`), or the offline simulator
 * when no key is configured (said in one info log line).
 *
 * @since 0.1.0
 */
export const layerFromEnv: Layer.Layer<LanguageModel.LanguageModel, SetupError> = layerFromEnvWithoutHttpClient().pipe(
  Layer.provide(defaultHttpClient)
)

/**
 * `layerFromEnv` with options (retry policy, timeout, limiter, simulator options).
 *
 * @since 0.1.0
 */
export const layerFromEnvWith = (options: Options): Layer.Layer<LanguageModel.LanguageModel, SetupError> =>
  layerFromEnvWithoutHttpClient(options).pipe(Layer.provide(defaultHttpClient))

/**
 * Alias of `layerFromEnv` (the name used in the design sketch).
 *
 * @since 0.1.0
 */
export const fromEnv: Layer.Layer<LanguageModel.LanguageModel, SetupError> = layerFromEnv
