/**
 * The providers a model id can name, one file each under `providers/`: a model id's prefix
 * (`openai/…`) is looked up here. The registry is a `Context.Reference` holding the built-in
 * providers; a layer from `register` adds one (the simulator package registers itself as
 * `simulator/` that way), so `Lm.layer` never imports a provider it is not given.
 *
 * @example
 * ```ts
 * import { Lm, ProviderRegistry } from "@effect-dspy/providers"
 * import { Layer } from "effect"
 * // a provider of your own: here, OpenAI's wire protocol under another prefix
 * const myProvider: ProviderRegistry.Provider = { ...ProviderRegistry.builtIn[0]!, name: "mine" }
 *
 * const Model = Lm.layer("mine/model-1").pipe(Layer.provide(ProviderRegistry.register(myProvider)))
 * ```
 *
 * @since 0.2.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as ChatCompletions from "./ChatCompletions.js"

/**
 * How to reach a provider and what to send it; each provider reads the settings it knows and
 * takes the rest from its environment variables.
 *
 * @since 0.2.0
 */
export interface ModelOptions {
  /** The API key; by default from the provider's variable (`OPENAI_API_KEY`, …). */
  readonly apiKey?: Redacted.Redacted | undefined
  /** The base URL; by default from the provider's variable (`OPENAI_BASE_URL`, …). Credentials in it become basic auth. */
  readonly baseUrl?: string | undefined
  /** Headers of every request. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** `minimal`, `low`, `medium` or `high`, for reasoning models. */
  readonly reasoningEffort?: "minimal" | "low" | "medium" | "high" | undefined
  /** OpenAI organization and project (default `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`). */
  readonly organization?: string | undefined
  readonly project?: string | undefined
  /** `openai/…` only: the Responses API (default) or chat completions (default `OPENAI_API`). */
  readonly api?: "responses" | "chat-completions" | undefined
  /** `openai-compatible/…` on Azure OpenAI: its `api-version` (default `OPENAI_API_VERSION`); the key then goes in `api-key`. */
  readonly apiVersion?: string | undefined
  /** Wire-level defaults of chat-completions models (`n`, `logprobs`, `streamUsage`, …). */
  readonly chatCompletions?: ChatCompletions.Config.Service | undefined
}

/**
 * A provider's model, ready to be wrapped in the retry policy.
 *
 * @since 0.2.0
 */
export interface Model {
  readonly layer: Layer.Layer<LanguageModel.LanguageModel, never, HttpClient.HttpClient>
  /** Secrets to hide from every error and log (the key). */
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
  /** The base URL requests go to (without credentials): spans name its server. */
  readonly baseUrl?: string | undefined
}

/**
 * A provider needs a setting (API key, base URL) that is not configured.
 *
 * @since 0.1.0
 */
export class MissingConfiguration
  extends Schema.TaggedError<MissingConfiguration>("@effect-dspy/providers/MissingConfiguration")(
    "MissingConfiguration",
    { modelId: Schema.String, variables: Schema.Array(Schema.String) }
  )
{
  override get message(): string {
    const vars = this.variables.join(" or ")
    return this.modelId === ""
      ? `No model is configured: set EFFECT_DSPY_MODEL (e.g. openai/gpt-4o-mini) or one of ${vars}, ` +
        `or use the offline simulator explicitly (EFFECT_DSPY_MODEL=simulator/sim-1 with its provider registered, ` +
        `or SimulatorProvider.layerFromEnvOrSimulator from @effect-dspy/simulator).`
      : `Model ${JSON.stringify(this.modelId)} needs ${vars}: set it in the environment or pass it in the options of Lm.layer.`
  }
}

/**
 * A provider of models for one model-id prefix.
 *
 * @since 0.2.0
 */
export interface Provider {
  /** The prefix of its model ids, e.g. `openai`. */
  readonly name: string
  /** The variables that configure it (one set is enough), and the model `Lm.layerFromEnv` picks then. */
  readonly env: { readonly variables: ReadonlyArray<string>; readonly defaultModel?: string | undefined }
  readonly make: (model: string, options: ModelOptions) => Effect.Effect<Model, MissingConfiguration | ConfigError.ConfigError>
}

// The implementation modules are loaded when a model is made: the generated API clients cost tens
// of MiB and most of a cold start, which a program using only one provider should not pay for all.
const lazy = (load: () => Promise<{ readonly make: Provider["make"] }>): Provider["make"] => (model, options) =>
  Effect.flatMap(Effect.promise(load), (module) => module.make(model, options))

/**
 * The providers of this package, in the order `Lm.layerFromEnv` tries their keys.
 *
 * @since 0.2.0
 */
export const builtIn: ReadonlyArray<Provider> = [
  {
    name: "openai",
    env: { variables: ["OPENAI_API_KEY"], defaultModel: "gpt-4o-mini" },
    make: lazy(() => import("./providers/OpenAi.js"))
  },
  {
    name: "anthropic",
    env: { variables: ["ANTHROPIC_API_KEY"], defaultModel: "claude-3-5-haiku-latest" },
    make: lazy(() => import("./providers/Anthropic.js"))
  },
  {
    name: "google",
    env: { variables: ["GEMINI_API_KEY", "GOOGLE_API_KEY"], defaultModel: "gemini-2.0-flash" },
    make: lazy(() => import("./providers/Google.js"))
  },
  {
    name: "openai-compatible",
    env: { variables: ["OPENAI_COMPATIBLE_BASE_URL"] },
    make: lazy(() => import("./providers/OpenAiCompatible.js"))
  }
]

/**
 * The providers model ids resolve through (the built-in ones unless a layer registered more).
 *
 * @since 0.2.0
 */
export class ProviderRegistry extends Context.Reference<ProviderRegistry>()("@effect-dspy/providers/ProviderRegistry", {
  defaultValue: (): ReadonlyArray<Provider> => builtIn
}) {}

/**
 * A layer that adds a provider to the registry in force (replacing one of the same name).
 *
 * @since 0.2.0
 */
export const register = (provider: Provider): Layer.Layer<ProviderRegistry> =>
  Layer.effect(
    ProviderRegistry,
    Effect.map(ProviderRegistry, (providers) => [...providers.filter((p) => p.name !== provider.name), provider])
  )
