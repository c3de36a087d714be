/**
 * Model ids: `"<provider>/<model>"` strings, e.g. `"openai/gpt-4o-mini"`,
 * `"anthropic/claude-3-5-haiku-latest"`, `"google/gemini-2.0-flash"`,
 * `"openai-compatible/llama3.1:8b"`. The provider is looked up in the `ProviderRegistry`.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/**
 * A parsed model id: the provider's name, and its own model name (everything after the first
 * `/`, so `openai-compatible/meta-llama/Llama-3-8B` keeps its slash).
 *
 * @since 0.1.0
 */
export interface ModelId {
  readonly provider: string
  readonly model: string
}

/**
 * A model id that is malformed or names no registered provider.
 *
 * @since 0.1.0
 */
export class InvalidModelId extends Schema.TaggedError<InvalidModelId>("@effect-dspy/providers/InvalidModelId")(
  "InvalidModelId",
  { modelId: Schema.String, reason: Schema.String, known: Schema.Array(Schema.String) }
) {
  override get message(): string {
    return `Invalid model id ${JSON.stringify(this.modelId)}: ${this.reason}. Expected "<provider>/<model>"` +
      (this.known.length === 0 ? "" : ` where provider is one of: ${this.known.join(", ")}`) +
      ` (e.g. "openai/gpt-4o-mini", "openai-compatible/llama3.1:8b").`
  }
}

/**
 * Parses a model id (its syntax only; the registry knows the providers), synchronously.
 *
 * @since 0.2.0
 */
export const parseEither = (modelId: string, known: ReadonlyArray<string> = []): Either.Either<ModelId, InvalidModelId> => {
  const trimmed = modelId.trim()
  const slash = trimmed.indexOf("/")
  const fail = (reason: string) => Either.left(new InvalidModelId({ modelId, reason, known: [...known] }))
  if (slash <= 0) return fail("missing the provider prefix")
  const model = trimmed.slice(slash + 1)
  if (model.length === 0 || /\s/.test(model)) return fail("the model name is empty or contains whitespace")
  return Either.right({ provider: trimmed.slice(0, slash).toLowerCase(), model })
}

/**
 * Parses a model id (its syntax only; the registry knows the providers).
 *
 * @since 0.1.0
 */
export const parse = (modelId: string, known: ReadonlyArray<string> = []): Effect.Effect<ModelId, InvalidModelId> =>
  parseEither(modelId, known)

/**
 * Formats a parsed model id back into its string form.
 *
 * @since 0.1.0
 */
export const format = (id: ModelId): string => `${id.provider}/${id.model}`
