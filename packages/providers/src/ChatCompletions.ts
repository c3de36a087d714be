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
import { LmConfig } from "@effect-dspy/core"
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import * as Telemetry from "@effect/ai/Telemetry"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { Redaction } from "@effect-dspy/core"
import * as ChatClient from "./internal/chatClient.js"
import { ChatStreamState, partsOfReply, type ReadOptions } from "./internal/chatParts.js"
import { type JsonMode, prepareMessages, prepareResponseFormat, prepareTools } from "./internal/chatWire.js"
import { isReasoningModel } from "./internal/settings.js"
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

// The next thing to change after a 400/422 whose message names a parameter, if any.
const adapt = (message: string, sent: Record<string, unknown>, current: Adaptations): Adaptations | undefined => {
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

const rejection = (error: AiError.AiError): string | undefined =>
  error._tag === "HttpResponseError" && (error.response.status === 400 || error.response.status === 422)
    ? `${error.body ?? ""} ${error.description ?? ""}`
    : undefined

const defined = (record: Record<string, unknown>): Record<string, unknown> => {
  for (const key of Object.keys(record)) if (record[key] === undefined) delete record[key]
  return record
}

/**
 * Builds a chat-completions `LanguageModel` service.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<LanguageModel.Service, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const secrets = options.apiKey === undefined ? [] : [options.apiKey]
    const scrub = Redaction.makeScrubber(secrets).apply
    const url = new URL(`${options.apiUrl.replace(/\/+$/, "")}/chat/completions`)
    for (const [name, value] of Object.entries(options.urlParams ?? {})) url.searchParams.set(name, value)
    const auth: Record<string, string> = options.apiKey === undefined
      ? {}
      : options.apiKeyHeader === "api-key"
      ? { "api-key": Redacted.value(options.apiKey) }
      : { authorization: `Bearer ${Redacted.value(options.apiKey)}` }
    const client = yield* ChatClient.make({ url: url.href, headers: { ...options.headers, ...auth }, scrub })
    const reasoningModel = isReasoningModel(options.model)
    const state = yield* Ref.make<Adaptations>({
      jsonMode: "json_schema",
      streamUsage: true,
      tokenField: reasoningModel ? "max_completion_tokens" : "max_tokens",
      temperature: !reasoningModel,
      startsInReasoning: false
    })

    const request = (providerOptions: LanguageModel.ProviderOptions, stream: boolean, adapted: Adaptations) =>
      Effect.gen(function*() {
        const context = yield* Effect.context<never>()
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
        const body = defined({
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
          ...(stream ? { stream: true } : {}),
          ...(stream && adapted.streamUsage && config.streamUsage !== false ? { stream_options: { include_usage: true } } : {})
        })
        Telemetry.addGenAIAnnotations(providerOptions.span, {
          system: "openai-compatible",
          operation: { name: "chat" },
          request: { model: options.model, temperature, maxTokens, topP }
        })
        return { body, headers: { ...extras.headers, ...config.headers }, thinkTags: config.thinkTags ?? true }
      })

    const readOptions = (adapted: Adaptations, thinkTags: boolean): Effect.Effect<ReadOptions> =>
      Effect.map(Clock.currentTimeMillis, (nowMillis) => ({
        provider: `openai-compatible/${options.model}`,
        thinkTags,
        startsInReasoning: adapted.startsInReasoning,
        nowMillis,
        scrub
      }))

    const failWith = (error: LmError.LmError, method: string) => Effect.fail(LmError.toAiError(error, method))

    const rememberImplicitOpen = (seen: boolean) =>
      seen ? Ref.update(state, (s) => ({ ...s, startsInReasoning: true })) : Effect.void

    // One call, sent again with what the server accepts when it rejects a parameter by name.
    const generateText = (providerOptions: LanguageModel.ProviderOptions, tries = 0): Effect.Effect<
      Array<Response.PartEncoded>,
      AiError.AiError
    > =>
      Effect.gen(function*() {
        const adapted = yield* Ref.get(state)
        const { body, headers, thinkTags } = yield* request(providerOptions, false, adapted)
        const reply = yield* Effect.either(client.send(body, headers))
        if (reply._tag === "Left") {
          const message = rejection(reply.left)
          const next = message === undefined || tries >= 4 ? undefined : adapt(message, body, adapted)
          if (next === undefined) return yield* Effect.fail(reply.left)
          yield* Ref.set(state, next)
          return yield* generateText(providerOptions, tries + 1)
        }
        const read = partsOfReply(reply.right, yield* readOptions(adapted, thinkTags))
        if (LmError.isLmError(read)) return yield* failWith(read, "generateText")
        yield* rememberImplicitOpen(read.implicitOpen)
        return read.parts
      })

    const streamText = (providerOptions: LanguageModel.ProviderOptions, tries = 0): Stream.Stream<
      Response.StreamPartEncoded,
      AiError.AiError
    > =>
      Stream.unwrap(Effect.gen(function*() {
        const adapted = yield* Ref.get(state)
        const { body, headers, thinkTags } = yield* request(providerOptions, true, adapted)
        const reader = new ChatStreamState(yield* readOptions(adapted, thinkTags))
        let done = false
        const parts = client.stream(body, headers).pipe(
          Stream.mapChunksEffect((events) => {
            const out: Array<Response.StreamPartEncoded> = []
            for (const event of events) {
              if (done) break
              if (event === ChatClient.Done) {
                done = true
                continue
              }
              const failure = reader.onChunk(event, out)
              if (failure !== undefined) return failWith(failure, "streamText")
            }
            return Effect.succeed(Chunk.unsafeFromArray(out))
          }),
          // The body failing after the server finished loses nothing (a verdict on the reply,
          // wrapped as `UnknownError`, is not such a failure).
          Stream.catchAll((error) =>
            (done || reader.finished) && error._tag !== "UnknownError" ? Stream.empty : Stream.fail(error)
          ),
          Stream.concat(Stream.suspend(() => {
            if (!done && !reader.finished) {
              return Stream.fail(LmError.toAiError(
                new LmError.ConnectionReset({
                  provider: `openai-compatible/${options.model}`,
                  description: "the stream ended without a finish_reason or [DONE]"
                }),
                "streamText"
              ))
            }
            const out: Array<Response.StreamPartEncoded> = []
            const failure = reader.finish(out)
            if (failure !== undefined) return Stream.fail(LmError.toAiError(failure, "streamText"))
            return Stream.concat(Stream.fromIterable(out), Stream.execute(rememberImplicitOpen(reader.implicitOpen)))
          }))
        )
        return Stream.catchAll(parts, (error) => {
          const message = AiError.isAiError(error) ? rejection(error) : undefined
          const next = message === undefined || tries >= 4 ? undefined : adapt(message, body, adapted)
          return next === undefined
            ? Stream.fail(error)
            : Stream.unwrap(Effect.as(Ref.set(state, next), streamText(providerOptions, tries + 1)))
        })
      }))

    return yield* LanguageModel.make({ generateText: (o) => generateText(o), streamText: (o) => streamText(o) })
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
