/**
 * The generated `@effect/ai-openai` and `@effect/ai-anthropic` clients, loaded on demand.
 * Loading them eagerly cost ~120 MiB RSS and most of the CLI's startup for every import of
 * `@effect-dspy/providers`, even for programs that only use the simulator or an
 * openai-compatible server; Node caches the modules, so later layers load them for free.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * A provider package could not be loaded. It is a dependency of `@effect-dspy/providers`,
 * so this is an installation or bundling fault, raised as a defect.
 */
export class ProviderModuleUnavailable
  extends Schema.TaggedError<ProviderModuleUnavailable>("@effect-dspy/providers/ProviderModuleUnavailable")(
    "ProviderModuleUnavailable",
    { modelId: Schema.String, module: Schema.String, cause: Schema.Defect }
  )
{
  override get message(): string {
    return `Model ${JSON.stringify(this.modelId)} needs ${this.module}, which could not be loaded ` +
      `(is it installed next to @effect-dspy/providers, and kept by your bundler?): ${String(this.cause)}`
  }
}

const load = <A>(modelId: string, module: string, evaluate: () => Promise<A>): Effect.Effect<A> =>
  Effect.tryPromise({
    try: evaluate,
    catch: (cause) => new ProviderModuleUnavailable({ modelId, module, cause })
  }).pipe(Effect.orDie)

/** @internal */
export const loadOpenAi = (modelId: string): Effect.Effect<{
  readonly OpenAiClient: typeof import("@effect/ai-openai/OpenAiClient")
  readonly OpenAiLanguageModel: typeof import("@effect/ai-openai/OpenAiLanguageModel")
}> =>
  load(modelId, "@effect/ai-openai", async () => {
    const [OpenAiClient, OpenAiLanguageModel] = await Promise.all([
      import("@effect/ai-openai/OpenAiClient"),
      import("@effect/ai-openai/OpenAiLanguageModel")
    ])
    return { OpenAiClient, OpenAiLanguageModel }
  })

/** @internal */
export const loadAnthropic = (modelId: string): Effect.Effect<{
  readonly AnthropicClient: typeof import("@effect/ai-anthropic/AnthropicClient")
  readonly AnthropicLanguageModel: typeof import("@effect/ai-anthropic/AnthropicLanguageModel")
}> =>
  load(modelId, "@effect/ai-anthropic", async () => {
    const [AnthropicClient, AnthropicLanguageModel] = await Promise.all([
      import("@effect/ai-anthropic/AnthropicClient"),
      import("@effect/ai-anthropic/AnthropicLanguageModel")
    ])
    return { AnthropicClient, AnthropicLanguageModel }
  })
