/**
 * Model ids: `"<provider>/<model>"` strings that choose a provider, e.g.
 * `"openai/gpt-4o-mini"`, `"anthropic/claude-3-5-haiku-latest"`,
 * `"openai-compatible/llama3.1:8b"`, `"simulator/sim-1"`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/**
 * The provider prefixes a model id may start with.
 *
 * @since 0.1.0
 */
export const providers = ["openai", "anthropic", "openai-compatible", "simulator"] as const

/**
 * One of the known provider prefixes.
 *
 * @since 0.1.0
 */
export type Provider = (typeof providers)[number]

/**
 * A parsed model id: which provider, and the provider's own model name
 * (everything after the first `/`, so `openai-compatible/meta-llama/Llama-3-8B` keeps its slash).
 *
 * @since 0.1.0
 */
export interface ModelId {
  readonly provider: Provider
  readonly model: string
}

/**
 * A model id that is malformed or names an unknown provider.
 *
 * @since 0.1.0
 */
export class InvalidModelId extends Schema.TaggedError<InvalidModelId>("@effect-dspy/providers/InvalidModelId")(
  "InvalidModelId",
  { modelId: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `Invalid model id ${JSON.stringify(this.modelId)}: ${this.reason}. ` +
      `Expected "<provider>/<model>" where provider is one of: ${providers.join(", ")} ` +
      `(e.g. "openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest", "openai-compatible/llama3.1:8b", "simulator/sim-1").`
  }
}

const isProvider = (s: string): s is Provider => (providers as ReadonlyArray<string>).includes(s)

/**
 * Parses a model id synchronously into `Either`.
 *
 * @since 0.1.0
 */
export const parseEither = (modelId: string): Either.Either<ModelId, InvalidModelId> => {
  const trimmed = modelId.trim()
  const slash = trimmed.indexOf("/")
  if (slash < 0) {
    return Either.left(new InvalidModelId({ modelId, reason: "missing the provider prefix" }))
  }
  const provider = trimmed.slice(0, slash).toLowerCase()
  const model = trimmed.slice(slash + 1)
  if (!isProvider(provider)) {
    return Either.left(new InvalidModelId({ modelId, reason: `unknown provider ${JSON.stringify(provider)}` }))
  }
  if (model.length === 0 || /\s/.test(model)) {
    return Either.left(new InvalidModelId({ modelId, reason: "the model name is empty or contains whitespace" }))
  }
  return Either.right({ provider, model })
}

/**
 * Parses a model id, failing with `InvalidModelId`.
 *
 * @since 0.1.0
 */
export const parse = (modelId: string): Effect.Effect<ModelId, InvalidModelId> => parseEither(modelId)

/**
 * Formats a parsed model id back into its string form.
 *
 * @since 0.1.0
 */
export const format = (id: ModelId): string => `${id.provider}/${id.model}`
