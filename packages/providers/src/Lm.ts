/**
 * `LanguageModel` layers chosen by a model id, through the `ProviderRegistry`, wrapped in the
 * retry policy (`Resilience`), over the platform's HTTP client.
 *
 * @example
 * ```ts
 * import { Lm } from "@effect-dspy/providers"
 * import { LanguageModel } from "@effect/ai"
 * import { Effect } from "effect"
 * const program = LanguageModel.generateText({ prompt: "Say hi" })
 *
 * program.pipe(Effect.provide(Lm.layer("openai/gpt-4o-mini", { timeout: "30 seconds" })))
 * program.pipe(Effect.provide(Lm.layerFromEnv()))
 * ```
 *
 * @since 0.1.0
 */
import { GenAiSpan, LmCache, LmConfig, Redaction } from "@effect-dspy/core"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Limiter from "./Limiter.js"
import * as ModelId from "./ModelId.js"
import { MissingConfiguration, type ModelOptions, ProviderRegistry } from "./ProviderRegistry.js"
import * as Resilience from "./Resilience.js"
import { withoutRequestSpans } from "./internal/httpClient.js"
import { optionalString } from "./internal/settings.js"

/**
 * Why a model layer could not be built.
 *
 * @since 0.1.0
 */
export type SetupError = ModelId.InvalidModelId | MissingConfiguration | ConfigError.ConfigError | CacheUnavailable

/**
 * The cache directory of `cache: { directory }` could not be made.
 *
 * @since 0.2.0
 */
export class CacheUnavailable extends Schema.TaggedError<CacheUnavailable>("@effect-dspy/providers/CacheUnavailable")(
  "CacheUnavailable",
  { directory: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `The LM cache directory ${JSON.stringify(this.directory)} cannot be used: ${this.reason}`
  }
}

/**
 * Options of `layer` and `layerFromEnv`: the provider's settings, and how calls are made.
 *
 * @since 0.1.0
 */
export interface Options extends ModelOptions {
  /** The retry policy, or `false` for a single attempt. Default `Resilience.defaults`. */
  readonly retry?: Resilience.Policy | false | undefined
  /** Per-attempt timeout (shorthand for `retry.timeout`). */
  readonly timeout?: Duration.DurationInput | undefined
  /** A shared limiter of in-flight requests; by default the `Limiter` in context, if any. */
  readonly limiter?: Limiter.Service | undefined
  /**
   * The HTTP client; default `httpClientLayer`. Its requests make no span of their own: the
   * model call's span is the call's, and names the server and the trace (`traceparent`).
   */
  readonly httpClient?: Layer.Layer<HttpClient.HttpClient> | undefined
  /**
   * Cache the calls (`LmCache`), in front of the retry policy and the limiter, so a hit costs
   * no request: `true` in memory, `{ directory }` also in files that outlive the process. Off
   * by default.
   *
   * @since 0.2.0
   */
  readonly cache?: boolean | CacheOptions | undefined
}

/**
 * How `layer` caches calls: `LmCache`'s options, and a directory to keep the replies in.
 *
 * @since 0.2.0
 */
export interface CacheOptions extends LmCache.Options {
  /**
   * A directory kept on Node's file system (one file per reply), shared by every process that
   * names it; without one, the cache lives in memory for as long as the layer.
   */
  readonly directory?: string | undefined
}

const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string"

/**
 * The HTTP client `layer` uses: the platform's undici client on Node, `fetch` elsewhere (loaded
 * on demand, so a browser bundle never needs Node's modules).
 *
 * @since 0.1.0
 */
export const httpClientLayer: Layer.Layer<HttpClient.HttpClient> = isNode
  ? Layer.unwrapEffect(Effect.map(Effect.promise(() => import("@effect/platform-node/NodeHttpClient")), (m) => m.layerUndici))
  : FetchHttpClient.layer

const nodeContextLayer = Layer.unwrapEffect(
  Effect.map(Effect.promise(() => import("@effect/platform-node/NodeContext")), (m) => m.layer)
)

/**
 * The cache layer of `options.cache`, keyed also on what tells two models of the same id apart
 * (the id, the base URL without its credentials, the API), never on a key or a header.
 */
const cacheOf = (
  cache: Options["cache"],
  modelId: string,
  options: Options
): Layer.Layer<LanguageModel.LanguageModel, SetupError, LanguageModel.LanguageModel> | undefined => {
  if (cache === undefined || cache === false) return undefined
  const settings: CacheOptions = cache === true ? {} : cache
  const namespace = JSON.stringify([
    modelId,
    options.baseUrl === undefined ? null : Redaction.url(options.baseUrl),
    options.api ?? null,
    options.apiVersion ?? null,
    options.reasoningEffort ?? null,
    settings.namespace ?? null
  ])
  const cacheOptions = { capacity: settings.capacity, namespace, additionalKey: settings.additionalKey }
  return settings.directory === undefined
    ? LmCache.layer(cacheOptions)
    : LmCache.layerFileSystem(settings.directory, cacheOptions).pipe(
      Layer.provide(nodeContextLayer),
      Layer.mapError((error) => new CacheUnavailable({ directory: settings.directory ?? "", reason: error.message }))
    )
}

const policyOf = (options: Options): Resilience.Policy => {
  const base: Resilience.Policy = options.retry === false ? Resilience.noRetry : options.retry ?? {}
  return options.timeout === undefined ? base : { ...base, timeout: options.timeout }
}

/**
 * A `LanguageModel` layer for a model id: `openai/…` (Responses API, or chat completions with
 * `api: "chat-completions"`), `anthropic/…`, `google/…`, `openai-compatible/…`, or a prefix a
 * layer registered (`simulator/…` with `SimulatorProvider.layer`). It also names the model in
 * core's `LmConfig`, so LM spans and events say `chat {model}`.
 *
 * @example
 * ```ts
 * import { Lm } from "@effect-dspy/providers"
 *
 * const Ollama = Lm.layer("openai-compatible/llama3.1:8b", { baseUrl: "http://localhost:11434/v1" })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (modelId: string, options: Options = {}): Layer.Layer<LanguageModel.LanguageModel, SetupError> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const providers = yield* ProviderRegistry
    const known = providers.map((p) => p.name)
    const id = yield* ModelId.parse(modelId, known)
    const provider = providers.find((p) => p.name === id.provider)
    if (provider === undefined) {
      return yield* new ModelId.InvalidModelId({ modelId, reason: `unknown provider ${JSON.stringify(id.provider)}`, known })
    }
    const model = yield* provider.make(id.model, options)
    const resilient = Resilience.layer({
      policy: policyOf(options),
      provider: ModelId.format(id),
      secrets: model.secrets,
      limiter: options.limiter
    }).pipe(Layer.provide(model.layer))
    // Core's LM spans and events read the provider and model from `LmConfig`; the settings in
    // force where the layer is built are kept, and `LmConfig.withSettings` in the program wins.
    const named = Layer.effect(
      LmConfig.LmConfig,
      Effect.map(LmConfig.LmConfig, (current) => ({
        ...current,
        provider: id.provider,
        model: id.model,
        server: model.baseUrl === undefined ? current.server : GenAiSpan.serverOf(model.baseUrl)
      }))
    )
    const http = Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, withoutRequestSpans)).pipe(
      Layer.provide(options.httpClient ?? httpClientLayer)
    )
    const cache = cacheOf(options.cache, ModelId.format(id), options)
    const served = cache === undefined ? resilient : Layer.provide(cache, resilient)
    return Layer.merge(served, named).pipe(Layer.provide(http))
  }))

/**
 * The model id the environment names: `EFFECT_DSPY_MODEL` if set; otherwise the default model of
 * the first registered provider whose variable is set (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`,
 * `GEMINI_API_KEY` / `GOOGLE_API_KEY`); `None` when nothing is configured.
 *
 * @since 0.1.0
 */
export const resolveFromEnv: Effect.Effect<Option.Option<string>, ConfigError.ConfigError> = Effect.gen(function*() {
  const requested = yield* optionalString("EFFECT_DSPY_MODEL")
  if (requested !== undefined) return Option.some(requested)
  for (const provider of yield* ProviderRegistry) {
    if (provider.env.defaultModel === undefined) continue
    for (const variable of provider.env.variables) {
      if ((yield* optionalString(variable)) !== undefined) return Option.some(`${provider.name}/${provider.env.defaultModel}`)
    }
  }
  return Option.none()
})

/**
 * The `LanguageModel` the environment names (see `resolveFromEnv`), with its key and base URL
 * from the provider's variables. Fails with `MissingConfiguration`, naming the variables, when no
 * model is configured: a library never answers with a stand-in model unless asked to.
 *
 * @example
 * ```ts
 * import { Lm } from "@effect-dspy/providers"
 * import { LanguageModel } from "@effect/ai"
 * import { Effect } from "effect"
 * const program = LanguageModel.generateText({ prompt: "Say hi" })
 *
 * program.pipe(Effect.provide(Lm.layerFromEnv({ timeout: "30 seconds" })))
 * ```
 *
 * @since 0.1.0
 */
export const layerFromEnv = (options: Options = {}): Layer.Layer<LanguageModel.LanguageModel, SetupError> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const modelId = yield* resolveFromEnv
    if (Option.isSome(modelId)) return layer(modelId.value, options)
    const providers = yield* ProviderRegistry
    return yield* new MissingConfiguration({
      modelId: "",
      variables: ["EFFECT_DSPY_MODEL", ...providers.flatMap((p) => p.env.defaultModel === undefined ? [] : p.env.variables)]
    })
  }))
