/**
 * `openai-compatible/<model>`: any server speaking `/v1/chat/completions` (vLLM, Ollama,
 * llama.cpp, LM Studio, OpenRouter, Groq, DeepSeek, Mistral, xAI, Azure OpenAI with an
 * `api-version`, Gemini's OpenAI endpoint), through `ChatCompletions`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as ChatCompletions from "../ChatCompletions.js"
import { endpoint, optionalRedacted, optionalString } from "../internal/settings.js"
import { MissingConfiguration, type Provider } from "../ProviderRegistry.js"

/** @internal */
export const make: Provider["make"] = (model, options) =>
  Effect.gen(function*() {
    const baseUrl = options.baseUrl ?? (yield* optionalString("OPENAI_COMPATIBLE_BASE_URL"))
    if (baseUrl === undefined) {
      return yield* new MissingConfiguration({ modelId: `openai-compatible/${model}`, variables: ["OPENAI_COMPATIBLE_BASE_URL"] })
    }
    const apiKey = options.apiKey ?? (yield* optionalRedacted("OPENAI_COMPATIBLE_API_KEY"))
    const apiVersion = options.apiVersion ?? (yield* optionalString("OPENAI_API_VERSION"))
    const { headers, url, urlParams } = endpoint(baseUrl)
    const layer = ChatCompletions.layer({
      model,
      apiUrl: url,
      apiKey,
      // Azure OpenAI: the key goes in `api-key`, the version in the query.
      apiKeyHeader: apiVersion === undefined ? "authorization" : "api-key",
      urlParams: apiVersion === undefined ? urlParams : { ...urlParams, "api-version": apiVersion },
      headers: { ...headers, ...options.headers },
      config: { reasoning_effort: options.reasoningEffort, ...options.chatCompletions }
    })
    return { layer, secrets: apiKey === undefined ? [] : [apiKey], baseUrl: url }
  })
