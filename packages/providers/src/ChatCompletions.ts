/**
 * A `LanguageModel` over `/v1/chat/completions`, the API of OpenAI's chat endpoint and of most
 * servers that imitate it (vLLM, Ollama, llama.cpp, LM Studio, OpenRouter, Groq, DeepSeek,
 * Mistral, xAI, Azure OpenAI, Gemini's OpenAI endpoint), with their documented deviations.
 *
 * Text, reasoning (`reasoning_content`, `reasoning`, Mistral's `thinking` chunks, `<think>` blocks
 * in the content), tools, structured output, SSE streaming with usage, logprobs and extra choices
 * (on the finish part's `metadata["openai-compatible"]`). A reply that ends in a refusal, at the
 * token limit, in a content filter or with an error fails with its own `LmError` (wrapped in an
 * `AiError.UnknownError`); a stream without its end is a failed call. Per model it remembers what
 * the server rejected and sends what it accepts: `json_schema` degrades to `json_object` plus the
 * schema in the prompt, then to the prompt only; `stream_options` is dropped; `max_tokens` becomes
 * `max_completion_tokens` and `temperature` is left out (OpenAI's reasoning models, known by name,
 * get those from the start).
 *
 * @since 0.1.0
 */
import { LmConfig, Redaction } from "@effect-dspy/core"
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import * as Telemetry from "@effect/ai/Telemetry"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Either from "effect/Either"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { withCachedDecoding } from "./internal/cachedDecoding.js"
import * as ChatClient from "./internal/chatClient.js"
import { ChatStreamState, partsOfReply, type ReadOptions } from "./internal/chatParts.js"
import { type JsonMode, prepareMessages, prepareResponseFormat, prepareTools } from "./internal/chatWire.js"
import { defined, isReasoningModel } from "./internal/settings.js"
import * as LmError from "./LmError.js"
import { RequestOptions } from "./RequestOptions.js"

/**
 * Wire-level settings of a call, read from the context at call time (like
 * `OpenAiLanguageModel.Config`); core's `LmConfig` wins for the fields it shares
 * (`temperature`, `maxTokens`, `topP`, `seed`).
 *
 * @since 0.1.0
 */
export class Config extends Context.Tag("@effect-dspy/providers/ChatCompletions/Config")<Config, Config.Service>() {}

/**
 * The types of the `Config` tag.
 *
 * @since 0.1.0
 */
export declare namespace Config {
  /**
   * Wire-level settings of a call.
   *
   * @since 0.1.0
   */
  export interface Service {
    readonly temperature?: number | undefined
    readonly max_tokens?: number | undefined
    readonly top_p?: number | undefined
    readonly seed?: number | undefined
    readonly stop?: ReadonlyArray<string> | undefined
    /** Choices to generate; the first is the reply, the others' texts are on the finish part's metadata. */
    readonly n?: number | undefined
    /** Token log probabilities, returned on the finish part's metadata. */
    readonly logprobs?: boolean | undefined
    readonly top_logprobs?: number | undefined
    /** `minimal`, `low`, `medium` or `high`, for reasoning models. */
    readonly reasoning_effort?: string | undefined
    /** Send tool and response-format schemas with `strict: true` (default `true`). */
    readonly strict?: boolean | undefined
    /** Ask for usage in streams (`stream_options.include_usage`, default `true`). */
    readonly streamUsage?: boolean | undefined
    /** Move `<think>…</think>` in the content to reasoning (default `true`). */
    readonly thinkTags?: boolean | undefined
    /** Extra request headers. */
    readonly headers?: Readonly<Record<string, string>> | undefined
    /** Extra body fields (e.g. `{ top_k: 40 }` for vLLM); the fields built here win. */
    readonly body?: Readonly<Record<string, unknown>> | undefined
  }
}

/**
 * Runs an effect with these chat-completions settings merged over the ones in force.
 *
 * @since 0.1.0
 */
export const withConfigOverride: {
  (overrides: Config.Service): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, overrides: Config.Service): Effect.Effect<A, E, R>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, overrides: Config.Service): Effect.Effect<A, E, R> =>
  Effect.flatMap(
    Effect.serviceOption(Config),
    (config) => Effect.provideService(self, Config, { ...Option.getOrUndefined(config), ...overrides })
  ))

/**
 * Options of a chat-completions model.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The model name sent in the request body. */
  readonly model: string
  /** The API base URL including the version path, e.g. `http://localhost:11434/v1`. */
  readonly apiUrl: string
  /** Sent as `Authorization: Bearer …` (or in the `api-key` header, see `apiKeyHeader`). */
  readonly apiKey?: Redacted.Redacted | undefined
  /** `api-key` for Azure OpenAI. Default `authorization` (a bearer token). */
  readonly apiKeyHeader?: "authorization" | "api-key" | undefined
  /** Query parameters of every request, e.g. Azure's `{ "api-version": "2024-10-21" }`. */
  readonly urlParams?: Readonly<Record<string, string>> | undefined
  /** Headers of every request (e.g. OpenAI's `OpenAI-Organization`). */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Defaults for every call; the context's `Config` and `LmConfig` override them. */
  readonly config?: Config.Service | undefined
}

// What the server was seen to reject or do, remembered for the model.
interface Adaptations {
  readonly jsonMode: JsonMode
  readonly streamUsage: boolean
  readonly tokenField: "max_tokens" | "max_completion_tokens"
  readonly temperature: boolean
  /** The model opens its `<think>` block in the prompt. */
  readonly startsInReasoning: boolean
}

// What to change after a 400/422 whose message names a parameter we sent, if anything.
const adapt = (error: AiError.AiError, sent: Record<string, unknown>, current: Adaptations): Adaptations | undefined => {
  if (error._tag !== "HttpResponseError" || (error.response.status !== 400 && error.response.status !== 422)) return undefined
  const message = `${error.body ?? ""} ${error.description ?? ""}`
  if (sent.response_format !== undefined && /response_format|json_schema|json_object|structured output/i.test(message)) {
    return { ...current, jsonMode: current.jsonMode === "json_schema" ? "json_object" : "prompt" }
  }
  if (sent.stream_options !== undefined && /stream_options|include_usage/i.test(message)) return { ...current, streamUsage: false }
  if (sent.max_tokens !== undefined && /max_completion_tokens|max_tokens/i.test(message)) {
    return { ...current, tokenField: "max_completion_tokens" }
  }
  if (sent.temperature !== undefined && /temperature/i.test(message)) return { ...current, temperature: false }
  return undefined
}

/**
 * Builds a chat-completions `LanguageModel` service.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<LanguageModel.Service, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const provider = `openai-compatible/${options.model}`
    const scrub = Redaction.makeScrubber(options.apiKey === undefined ? [] : [options.apiKey]).apply
    // the path goes before a query the base URL may carry
    const url = new URL(options.apiUrl)
    url.pathname = `${url.pathname.replace(/\/+$/, "")}/chat/completions`
    for (const [name, value] of Object.entries(options.urlParams ?? {})) url.searchParams.set(name, value)
    const auth: Record<string, string> = options.apiKey === undefined
      ? {}
      : options.apiKeyHeader === "api-key"
      ? { "api-key": Redacted.value(options.apiKey) }
      : { authorization: `Bearer ${Redacted.value(options.apiKey)}` }
    const client = yield* ChatClient.make({ url: url.href, headers: { ...options.headers, ...auth }, scrub })
    const reasoningModel = isReasoningModel(options.model)
    // Per model, changed only in synchronous steps of the fiber runtime.
    let adapted: Adaptations = {
      jsonMode: "json_schema",
      streamUsage: true,
      tokenField: reasoningModel ? "max_completion_tokens" : "max_tokens",
      temperature: !reasoningModel,
      startsInReasoning: false
    }

    // The request of one call, from its context: `Config`, core's `LmConfig`, `RequestOptions`.
    const request = (context: Context.Context<never>, providerOptions: LanguageModel.ProviderOptions, stream: boolean) =>
      Either.gen(function*() {
        const config: Config.Service = { ...options.config, ...Context.getOrElse(context, Config, () => ({})) }
        const settings = Context.get(context, LmConfig.LmConfig)
        const extras = Context.get(context, RequestOptions)
        const strict = config.strict ?? true
        const messages = yield* prepareMessages(providerOptions.prompt)
        const { toolChoice, tools } = yield* prepareTools(providerOptions, strict)
        const format = prepareResponseFormat(providerOptions, adapted.jsonMode, strict)
        if (format.instruction !== undefined) messages.push({ role: "system", content: format.instruction })
        const maxTokens = settings.maxTokens ?? config.max_tokens
        const temperature = adapted.temperature ? settings.temperature ?? config.temperature : undefined
        const topP = adapted.temperature ? settings.topP ?? config.top_p : undefined
        Telemetry.addGenAIAnnotations(providerOptions.span, {
          system: "openai-compatible",
          operation: { name: "chat" },
          request: { model: options.model, temperature, maxTokens, topP }
        })
        const body: Record<string, unknown> = defined({
          ...extras.body,
          ...config.body,
          model: options.model,
          messages,
          temperature,
          top_p: topP,
          [adapted.tokenField]: maxTokens,
          seed: settings.seed ?? config.seed,
          stop: config.stop,
          n: config.n,
          logprobs: config.logprobs,
          top_logprobs: config.top_logprobs,
          reasoning_effort: config.reasoning_effort,
          tools,
          tool_choice: toolChoice,
          response_format: format.responseFormat,
          stream: stream ? true : undefined,
          stream_options: stream && adapted.streamUsage && config.streamUsage !== false ? { include_usage: true } : undefined
        })
        const reading = (nowMillis: number): ReadOptions => ({
          provider,
          thinkTags: config.thinkTags ?? true,
          startsInReasoning: adapted.startsInReasoning,
          nowMillis,
          scrub
        })
        return { body, headers: { ...extras.headers, ...config.headers }, reading }
      })

    // Sends the call again with what the server accepts when it rejects a parameter by name.
    const adapted_ = (error: AiError.AiError, body: Record<string, unknown>, tries: number): boolean => {
      const next = tries < 4 ? adapt(error, body, adapted) : undefined
      if (next !== undefined) adapted = next
      return next !== undefined
    }
    const remember = (implicitOpen: boolean) => {
      if (implicitOpen) adapted = { ...adapted, startsInReasoning: true }
    }
    const fail = (error: LmError.LmError, method: string) => LmError.toAiError(error, method)

    const generateText = (providerOptions: LanguageModel.ProviderOptions, tries = 0): Effect.Effect<
      Array<Response.PartEncoded>,
      AiError.AiError
    > =>
      Effect.contextWithEffect((context: Context.Context<never>) => {
        const built = request(context, providerOptions, false)
        if (Either.isLeft(built)) return Effect.fail(built.left)
        const { body, headers, reading } = built.right
        return Effect.matchEffect(client.send(body, headers), {
          onFailure: (error) => adapted_(error, body, tries) ? generateText(providerOptions, tries + 1) : Effect.fail(error),
          onSuccess: (reply) =>
            Effect.clockWith((clock) => {
              const read = partsOfReply(reply, reading(clock.unsafeCurrentTimeMillis()))
              if (LmError.isLmError(read)) return Effect.fail(fail(read, "generateText"))
              remember(read.implicitOpen)
              return Effect.succeed(read.parts)
            })
        })
      })

    const streamText = (providerOptions: LanguageModel.ProviderOptions, tries = 0): Stream.Stream<
      Response.StreamPartEncoded,
      AiError.AiError
    > =>
      Stream.unwrap(Effect.contextWithEffect((context: Context.Context<never>) => {
        const built = request(context, providerOptions, true)
        if (Either.isLeft(built)) return Effect.fail(built.left)
        const { body, headers, reading } = built.right
        return Effect.clockWith((clock) => {
          const reader = new ChatStreamState(reading(clock.unsafeCurrentTimeMillis()))
          let started = false
          let done = false
          const parts = client.stream(body, headers).pipe(
            Stream.mapChunksEffect((events) => {
              started = true
              const out: Array<Response.StreamPartEncoded> = []
              for (const event of events) {
                if (done) break
                if (event === ChatClient.Done) done = true
                else {
                  const failure = reader.onChunk(event, out)
                  if (failure !== undefined) return Effect.fail(fail(failure, "streamText"))
                }
              }
              return Effect.succeed(Chunk.unsafeFromArray(out))
            }),
            // The body failing after the server finished loses nothing (a verdict on the reply,
            // an `UnknownError`, is not such a failure).
            Stream.catchAll((error) => (done || reader.finished) && error._tag !== "UnknownError" ? Stream.empty : Stream.fail(error)),
            Stream.concat(Stream.suspend(() => {
              if (!done && !reader.finished) {
                return Stream.fail(fail(new LmError.ConnectionReset({ provider, description: "the stream ended without a finish_reason or [DONE]" }), "streamText"))
              }
              const out: Array<Response.StreamPartEncoded> = []
              const failure = reader.finish(out)
              if (failure !== undefined) return Stream.fail(fail(failure, "streamText"))
              remember(reader.implicitOpen)
              return Stream.fromIterable(out)
            }))
          )
          // A rejection comes before any event.
          return Effect.succeed(Stream.catchAll(parts, (error) =>
            !started && adapted_(error, body, tries) ? streamText(providerOptions, tries + 1) : Stream.fail(error)))
        })
      }))

    const service = yield* LanguageModel.make({ generateText: (o) => generateText(o), streamText: (o) => streamText(o) })
    return yield* withCachedDecoding(service, (o) => generateText(o), (o) => streamText(o))
  })

/**
 * A chat-completions `LanguageModel` layer.
 *
 * @example
 * ```ts
 * import { ChatCompletions } from "@effect-dspy/providers"
 *
 * const Ollama = ChatCompletions.layer({ model: "llama3.1:8b", apiUrl: "http://localhost:11434/v1" })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<LanguageModel.LanguageModel, never, HttpClient.HttpClient> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))
