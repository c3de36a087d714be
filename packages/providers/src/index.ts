/**
 * Real model providers chosen by a model id string, and one resilient call policy
 * used by every provider.
 *
 * @since 0.1.0
 */

/**
 * OpenAI-compatible `/v1/chat/completions` as a `LanguageModel`.
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
 * Model layers by model id, and `layerFromEnv`.
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
 * The retry / timeout policy wrapping any `LanguageModel`.
 *
 * @since 0.1.0
 */
export * as Resilience from "./Resilience.js"
