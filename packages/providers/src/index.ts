/**
 * Language-model providers chosen by a model id, and the one retry policy every call goes
 * through.
 *
 * @since 0.1.0
 */

/**
 * A `LanguageModel` over `/v1/chat/completions` (OpenAI and the servers that imitate it).
 *
 * @since 0.1.0
 */
export * as ChatCompletions from "./ChatCompletions.js"

/**
 * A shared limiter of in-flight requests with a rate-limit cool-down.
 *
 * @since 0.1.0
 */
export * as Limiter from "./Limiter.js"

/**
 * Model layers by model id (`layer`), and from the environment (`layerFromEnv`).
 *
 * @since 0.1.0
 */
export * as Lm from "./Lm.js"

/**
 * Classified language-model failures.
 *
 * @since 0.1.0
 */
export * as LmError from "./LmError.js"

/**
 * Model id parsing.
 *
 * @since 0.1.0
 */
export * as ModelId from "./ModelId.js"

/**
 * The providers model ids resolve through, and how to register one.
 *
 * @since 0.2.0
 */
export * as ProviderRegistry from "./ProviderRegistry.js"

/**
 * Extra headers and body fields for the calls of a part of a program.
 *
 * @since 0.2.0
 */
export * as RequestOptions from "./RequestOptions.js"

/**
 * The retry / timeout policy wrapping every model, and retry budgets.
 *
 * @since 0.1.0
 */
export * as Resilience from "./Resilience.js"
