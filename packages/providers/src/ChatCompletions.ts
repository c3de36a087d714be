/**
 * A `LanguageModel` over the OpenAI-compatible `/v1/chat/completions` endpoint, for
 * vLLM, Ollama, llama.cpp server, LM Studio, OpenRouter, Groq and the simulator.
 *
 * Text, JSON-schema structured output (`response_format: json_schema`), tool calls,
 * SSE streaming (with `stream_options.include_usage`), usage and finish reasons.
 * Failures are `@effect/ai` `AiError`s, the same types `@effect/ai-openai` and
 * `@effect/ai-anthropic` use, so one classifier (`LmError.classify`) handles all.
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Response from "@effect/ai/Response"
import { CurrentSpanTransformer } from "@effect/ai/Telemetry"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Config_ from "effect/Config"
import type { ConfigError } from "effect/ConfigError"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type { Span } from "effect/Tracer"
import { LmConfig, type Settings } from "@effect-dspy/core/LmConfig"
import * as ResponseParts from "@effect-dspy/core/ResponseParts"
import { ChatStreamState, checkChunk } from "./internal/chatStream.js"
import { secure } from "./internal/secureClient.js"
import { decodesWithoutEffects } from "./internal/pureDecode.js"
import * as SseData from "./internal/sseData.js"
import { honoursAbort } from "./internal/httpClient.js"
import { IdleWatch } from "./internal/idleWatch.js"
import * as StreamDeadline from "./internal/streamDeadline.js"
import type { IdleDeadline, PlainStreamOptions } from "./internal/streamDeadline.js"
import type { WireRequest } from "./internal/chatWire.js"
import {
  decodeResponse,
  makeParts,
  prepareMessages,
  prepareResponseFormat,
  prepareTools
} from "./internal/chatWire.js"

// =============================================================================
// Configuration
// =============================================================================

/**
 * Wire-level options of a chat-completions call, read from the context at call time
 * (like `OpenAiLanguageModel.Config`); core `LmConfig` settings take precedence for the fields
 * they share.
 *
 * @since 0.1.0
 */
export class Config extends Context.Tag("@effect-dspy/providers/ChatCompletions/Config")<Config, Config.Service>() {
  /** The current config, or `undefined`. */
  static readonly getOrUndefined: Effect.Effect<Config.Service | undefined> = Effect.map(
    Effect.context<never>(),
    (context) => context.unsafeMap.get(Config.key)
  )
}

/**
 * The types of the `Config` tag.
 *
 * @since 0.1.0
 */
export declare namespace Config {
  /**
   * Wire-level options of a chat-completions call.
   *
   * @since 0.1.0
   */
  export interface Service {
    readonly temperature?: number | undefined
    readonly max_tokens?: number | undefined
    readonly seed?: number | undefined
    readonly top_p?: number | undefined
    readonly stop?: ReadonlyArray<string> | undefined
    /**
     * Send tool and response-format schemas with `strict: true` (default `true`).
     * Set `false` for servers that reject strict mode or for schemas with optional fields.
     */
    readonly strict?: boolean | undefined
    /** Extra body fields passed through as they are (e.g. `{ top_k: 40 }` for vLLM). */
    readonly extraBody?: Readonly<Record<string, unknown>> | undefined
  }
}

/**
 * Runs an effect with the given chat-completions config merged over the current one.
 *
 * @since 0.1.0
 */
export const withConfigOverride: {
  (overrides: Config.Service): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, overrides: Config.Service): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, overrides: Config.Service): Effect.Effect<A, E, R> =>
    Effect.flatMap(Config.getOrUndefined, (config) => Effect.provideService(self, Config, { ...config, ...overrides }))
)

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
  /** Sent as `Authorization: Bearer …` when present. */
  readonly apiKey?: Redacted.Redacted | undefined
  /** Extra request headers (e.g. OpenRouter's `HTTP-Referer`). */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Defaults for every call; the context's `Config` and `LmConfig` override them. */
  readonly config?: Config.Service | undefined
}

// =============================================================================
// Constructor
// =============================================================================

const MODULE = "ChatCompletions"

const applySettings = (
  body: Record<string, unknown>,
  config: Config.Service | undefined,
  settings: Settings
): void => {
  if (config !== undefined) {
    if (config.extraBody !== undefined) Object.assign(body, config.extraBody)
    if (config.temperature !== undefined) body.temperature = config.temperature
    if (config.max_tokens !== undefined) body.max_tokens = config.max_tokens
    if (config.seed !== undefined) body.seed = config.seed
    if (config.top_p !== undefined) body.top_p = config.top_p
    if (config.stop !== undefined) body.stop = config.stop
  }
  if (settings.temperature !== undefined) body.temperature = settings.temperature
  if (settings.maxTokens !== undefined) body.max_tokens = settings.maxTokens
  if (settings.seed !== undefined) body.seed = settings.seed
  if (settings.topP !== undefined) body.top_p = settings.topP
}

// The attributes `Telemetry.addGenAIAnnotations` sets, with the keys written out: it
// derives them per call (camelCase to snake_case for every key), on every request.
const attribute = (span: Span, key: string, value: unknown): void => {
  if (value !== null && value !== undefined) span.attribute(key, value)
}

const annotateRequest = (span: Span, request: WireRequest): void => {
  span.attribute("gen_ai.system", "openai-compatible")
  span.attribute("gen_ai.operation.name", "chat")
  attribute(span, "gen_ai.request.model", request.model)
  attribute(span, "gen_ai.request.temperature", request.temperature)
  attribute(span, "gen_ai.request.top_p", request.top_p)
  attribute(span, "gen_ai.request.max_tokens", request.max_tokens)
}

const annotateFinish = (
  span: Span,
  parts: ReadonlyArray<Response.PartEncoded | Response.StreamPartEncoded>
): void => {
  for (const part of parts) {
    if (part.type === "response-metadata") {
      attribute(span, "gen_ai.response.id", part.id)
      attribute(span, "gen_ai.response.model", part.modelId)
    } else if (part.type === "finish") {
      span.attribute("gen_ai.response.finish_reasons", [part.reason])
      attribute(span, "gen_ai.usage.input_tokens", part.usage.inputTokens)
      attribute(span, "gen_ai.usage.output_tokens", part.usage.outputTokens)
    }
  }
}

const requestDetails = (request: HttpClientRequest.HttpClientRequest) => ({
  method: request.method,
  url: request.url,
  urlParams: [],
  hash: request.hash,
  // Headers are redacted (authorization and friends) by the Inspectable contract.
  headers: {}
})

// A body that fails mid-read (connection reset, truncated) is a ResponseError with
// reason "Decode"; keep the transport's own words in the description so the
// classifier can tell a reset from garbage.
const describeCause = (cause: unknown): string | undefined => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const c = current as { readonly message?: unknown; readonly code?: unknown; readonly cause?: unknown }
    if (typeof c.code === "string") parts.push(c.code)
    if (typeof c.message === "string" && c.message !== "") parts.push(c.message)
    current = c.cause
  }
  return parts.length === 0 ? undefined : parts.join(": ")
}

const mapHttpError = (method: string) => (error: HttpClientError.HttpClientError): Effect.Effect<never, AiError.AiError> => {
  if (error._tag === "RequestError") {
    return Effect.fail(AiError.HttpRequestError.fromRequestError({ module: MODULE, method, error }))
  }
  if (error.reason === "StatusCode") {
    return AiError.HttpResponseError.fromResponseError({ module: MODULE, method, error })
  }
  const description = [error.description, describeCause(error.cause)].filter((s) => s !== undefined).join(": ")
  return Effect.fail(
    new AiError.HttpResponseError({
      module: MODULE,
      method,
      reason: error.reason,
      description: description === "" ? "the response body could not be read" : description,
      request: requestDetails(error.request),
      response: { status: error.response.status, headers: {} }
    })
  )
}

const statusError = (response: HttpClientResponse.HttpClientResponse) =>
  new HttpClientError.ResponseError({
    request: response.request,
    response,
    reason: "StatusCode",
    description: "non 2xx status code"
  })

const malformed = (method: string, description: string, cause?: unknown) =>
  new AiError.MalformedOutput({
    module: MODULE,
    method,
    description,
    ...(cause === undefined ? {} : { cause })
  })

const truncated = (request: HttpClientRequest.HttpClientRequest, status: number) =>
  new AiError.HttpResponseError({
    module: MODULE,
    method: "streamText",
    reason: "Decode",
    description: "the connection closed before the stream completed (no finish_reason nor [DONE])",
    request: requestDetails(request),
    response: { status, headers: {} }
  })

/**
 * Builds a chat-completions `LanguageModel` service.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<LanguageModel.Service, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const raw = yield* HttpClient.HttpClient
    const secrets = options.apiKey === undefined ? [] : [options.apiKey]
    const client = secure(secrets)(raw)
    // Our own client (`Lm.layer`'s) ends a pending read when its request is aborted; one brought by
    // the caller may not, so only ours serves streams under `Resilience`'s deadline (see below).
    const builtIn = honoursAbort(raw)
    const url = `${options.apiUrl.replace(/\/+$/, "")}/chat/completions`
    const baseHeaders: Record<string, string> = {
      accept: "application/json",
      ...options.headers
    }
    if (options.apiKey !== undefined) baseHeaders.authorization = `Bearer ${Redacted.value(options.apiKey)}`
    const headers = Headers.fromInput(baseHeaders)
    const streamHeaders = Headers.set(headers, "accept", "text/event-stream")

    // Builds the wire request from the provider options and the call's context.
    const buildRequest = (
      providerOptions: LanguageModel.ProviderOptions,
      context: Context.Context<never>,
      stream: boolean
    ): Either.Either<WireRequest, AiError.AiError> => {
      const config: Config.Service | undefined = context.unsafeMap.get(Config.key)
      const strict = config?.strict ?? options.config?.strict ?? true
      const messages = prepareMessages(providerOptions.prompt)
      if (Either.isLeft(messages)) return Either.left(messages.left)
      const tools = prepareTools(providerOptions, strict)
      if (Either.isLeft(tools)) return Either.left(tools.left)
      const body: Record<string, unknown> = { model: options.model, messages: messages.right }
      if (options.config !== undefined) applySettings(body, options.config, {})
      applySettings(body, config, Context.get(context, LmConfig))
      if (tools.right.tools !== undefined) {
        body.tools = tools.right.tools
        body.tool_choice = tools.right.toolChoice
      }
      const responseFormat = prepareResponseFormat(providerOptions, strict)
      if (responseFormat !== undefined) body.response_format = responseFormat
      if (stream) {
        body.stream = true
        body.stream_options = { include_usage: true }
      }
      return Either.right(body as WireRequest)
    }

    // Inside core's `chat {model}` span the HTTP client's own span (one request per
    // generation, ~40 attributes) tells nothing the generation does not: the request runs
    // with the client's tracing off, and the trace context is still sent, naming this call's span,
    // unless propagation is off (`HttpClient.currentTracerPropagation`, which the client reads
    // when it makes its span). Our own client has no setting of its own, so the caller's decides
    // and the headers go on before the request is sent (`withScope` keeps the very request it
    // registered). A client brought by the caller may turn propagation off itself
    // (`HttpClient.withTracerPropagation(false)` sets the fiber ref around its own steps): there
    // the headers are added as its first request step, which it runs with its settings in force.
    const handTraced = builtIn ? client : secure(secrets)(HttpClient.mapRequestEffect(raw, addTraceContext))
    const inTrace = <A, E, R>(
      send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, E, R>,
      request: HttpClientRequest.HttpClientRequest,
      span: Span
    ): Effect.Effect<A, E, R> =>
      Effect.locally(
        builtIn
          ? Effect.withFiberRuntime((fiber) =>
            send(
              fiber.getFiberRef(HttpClient.currentTracerPropagation)
                ? HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(span))
                : request
            )
          )
          : Effect.locally(send(request), traceSpan, span),
        FiberRef.currentTracerEnabled,
        false
      )

    const execute = (request: HttpClientRequest.HttpClientRequest, span: Span) =>
      inGeneration(span) ? inTrace((request) => handTraced.execute(request), request, span) : client.execute(request)

    const httpRequest = (body: WireRequest, stream: boolean) =>
      HttpClientRequest.post(url, {
        headers: stream ? streamHeaders : headers,
        body: HttpBody.raw(JSON.stringify(body), { contentType: "application/json" })
      })

    // One non-streaming call with the call's context in hand: the wire request, the
    // HTTP exchange, and the reply as encoded parts.
    const generateWith = (
      providerOptions: LanguageModel.ProviderOptions,
      context: Context.Context<never>
    ): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> => {
      const body = buildRequest(providerOptions, context, false)
      if (Either.isLeft(body)) return Effect.fail(body.left)
      annotateRequest(providerOptions.span, body.right)
      return execute(httpRequest(body.right, false), providerOptions.span).pipe(
        Effect.flatMap((response) =>
          response.status >= 200 && response.status < 300 ? response.text : Effect.fail(statusError(response))
        ),
        Effect.catchAll(mapHttpError("generateText")),
        Effect.flatMap((text) => {
          let json: unknown
          try {
            json = JSON.parse(text)
          } catch (cause) {
            return Effect.fail(malformed("generateText", "The response body is not valid JSON", cause))
          }
          const decoded = decodeResponse(json)
          if (Either.isLeft(decoded)) {
            return Effect.fail(malformed("generateText", "The response does not match the chat-completions format", decoded.left))
          }
          const parts = makeParts(decoded.right)
          if (Either.isRight(parts)) annotateFinish(providerOptions.span, parts.right)
          return parts
        })
      )
    }

    const generateText = (
      providerOptions: LanguageModel.ProviderOptions
    ): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> =>
      Effect.contextWithEffect((context: Context.Context<never>) => generateWith(providerOptions, context))

    // Every streamed request runs in a scope of its own, closed when its stream ends: closing it
    // aborts the request, which is also how an idle deadline ends a wait on the socket.
    const scopedClient = HttpClient.withScope(client)
    // `withScope` would run a client's request steps before its settings apply (so before the
    // caller's client turns propagation off): that client's streams go without it, and the end
    // of their body still aborts the request (the platform's client does so itself).
    const scopedHandTraced = builtIn ? scopedClient : handTraced

    // One streamed call as one channel: sends the request, then turns each socket read into
    // parts in a single pass (text decoding, SSE lines, JSON, the chunk check, the state machine,
    // then the output form) and at the end checks that the server finished and closes the open
    // parts. Not a pipeline of `Stream` operators: each one costs a channel hand-off per socket
    // read, which was most of a streamed token's CPU. Under a deadline, a timer aborts the
    // request when the stream waited on the server for its length, and the stream fails with its
    // timeout error. The channel is pull-based: while a part waits downstream for the consumer's
    // next pull, the wait is the consumer's, so the timer is paused then.
    const openStream = <Out, E>(
      providerOptions: LanguageModel.ProviderOptions,
      output: StreamOutput<Out>,
      deadline: IdleDeadline<E> | undefined
    ): Channel.Channel<Chunk.Chunk<Out>, unknown, AiError.AiError | E, unknown, unknown, unknown> =>
      Channel.suspend(() => {
        // Set while the request is being opened; the finalizer below is registered first, so an
        // interruption at any point still closes them.
        let scope: Scope.CloseableScope | undefined
        let watch: IdleWatch | undefined
        const timedOut = (): E | undefined =>
          watch !== undefined && watch.expired && deadline !== undefined ? deadline.onTimeout() : undefined
        const open = Effect.withFiberRuntime<HttpClientResponse.HttpClientResponse, AiError.AiError | E>((fiber) => {
          const body = buildRequest(providerOptions, fiber.currentContext, true)
          if (Either.isLeft(body)) return Effect.fail(body.left)
          annotateRequest(providerOptions.span, body.right)
          const request = httpRequest(body.right, true)
          return Effect.flatMap(Scope.make(), (requestScope) => {
            scope = requestScope
            if (deadline !== undefined) {
              // A timer runs outside any fiber: closing the scope from it aborts the request.
              watch = new IdleWatch(deadline.millis, () => Effect.runFork(Scope.close(requestScope, Exit.void)))
            }
            const span = providerOptions.span
            // As for generate: inside core's generation no HTTP span, the trace context by hand;
            // under Effect's built-in tracer the HTTP span reaches nobody.
            const execute = inGeneration(span)
              ? inTrace((request) => Scope.extend(scopedHandTraced.execute(request), requestScope), request, span)
              : spansUnobserved(fiber)
              ? Effect.locally(Scope.extend(scopedClient.execute(request), requestScope), FiberRef.currentTracerEnabled, false)
              : Scope.extend(scopedClient.execute(request), requestScope)
            return execute.pipe(
              Effect.flatMap((response) =>
                response.status >= 200 && response.status < 300
                  ? Effect.succeed(response)
                  : Effect.fail(statusError(response))
              ),
              Effect.catchAll((error): Effect.Effect<never, AiError.AiError | E> => {
                const timeout = timedOut()
                return timeout !== undefined ? Effect.fail(timeout) : mapHttpError("streamText")(error)
              })
            )
          })
        })
        const events = Channel.flatMap(Channel.fromEffect(open), (response) =>
          Channel.pipeTo(
            Stream.toChannel(response.stream),
            readEvents(response, providerOptions.span, output, watch, timedOut)
          ))
        return Channel.ensuringWith(events, (exit) => {
          watch?.stop()
          return scope === undefined ? Effect.void : Scope.close(scope, exit)
        })
      })

    // The body's bytes -> stream parts, with one small state machine per call.
    const readEvents = <Out, E>(
      response: HttpClientResponse.HttpClientResponse,
      span: Span,
      output: StreamOutput<Out>,
      watch: IdleWatch | undefined,
      timedOut: () => E | undefined
    ): EventsReader<Out, E> => {
      const state = new ChatStreamState()
      const decoder = new TextDecoder()
      let done = false
      let failure: AiError.AiError | undefined
      let parts: Array<Response.StreamPartEncoded> = []
      const parser = SseData.make((data) => {
        if (done || failure !== undefined) return
        if (data === "[DONE]") {
          done = true
          return
        }
        let json: unknown
        try {
          json = JSON.parse(data)
        } catch (cause) {
          failure = malformed("streamText", "A stream event is not valid JSON", cause)
          return
        }
        const chunk = checkChunk(json)
        if (Either.isLeft(chunk)) {
          failure = malformed("streamText", "A stream event does not match the chat-completions format", chunk.left)
          return
        }
        const result = state.onChunk(chunk.right, parts)
        if (Either.isLeft(result)) failure = result.left
      })
      type Reader = EventsReader<Out, E>
      // A write returns when downstream pulls again: the watch is paused from the write until
      // then (the consumer's time), and runs again, from a full length, once it pulls.
      const resumeThen = (next: () => Reader) => (): Reader => {
        watch?.resume()
        return next()
      }
      const write = (chunk: Chunk.Chunk<Out>, next: () => Reader): Reader => {
        watch?.pause()
        return Channel.flatMap(Channel.write(chunk), resumeThen(next))
      }
      const emit = (encoded: Array<Response.StreamPartEncoded>, next: () => Reader): Reader => {
        const fast = output.fast(encoded)
        return fast !== undefined
          ? write(Chunk.unsafeFromArray(fast), next)
          : Channel.flatMap(Channel.fromEffect(output.slow(encoded)), (chunk) => write(chunk, next))
      }
      // The end of a stream the server finished (`[DONE]` or a finish reason): close the open parts.
      const finish = (): Reader => {
        const last: Array<Response.StreamPartEncoded> = []
        const result = state.finish(last)
        if (Either.isLeft(result)) return Channel.fail(result.left)
        annotateFinish(span, last)
        return emit(last, () => Channel.void)
      }
      const reader: Reader = Channel.readWithCause({
        onInput: (chunk: Chunk.Chunk<Uint8Array>) => {
          watch?.touch()
          if (done) return reader
          for (const bytes of chunk) {
            const limit = parser.feed(decoder.decode(bytes, { stream: true }))
            if (limit !== undefined) failure ??= malformed("streamText", `A stream event is larger than ${limit} characters`)
          }
          if (failure !== undefined) return Channel.fail(failure)
          if (parts.length === 0) return reader
          const out = parts
          parts = []
          return emit(out, () => reader)
        },
        onFailure: (cause): Reader => {
          // The server had finished: a failure of the rest of the body (the deadline aborting
          // the request while the socket stayed open, a reset) loses nothing.
          if (done || state.completed) return finish()
          const timeout = timedOut()
          if (timeout !== undefined) return Channel.fail(timeout)
          const error = Cause.failureOrCause(cause)
          return Either.isLeft(error)
            ? Channel.fromEffect(mapHttpError("streamText")(error.left))
            : Channel.failCause(error.right)
        },
        onDone: () => {
          if (!done && !state.completed) return Channel.fail(timedOut() ?? truncated(response.request, response.status))
          return finish()
        }
      })
      return reader
    }

    // The provider-level stream `LanguageModel.make` decodes (calls with a toolkit).
    const streamText = (
      providerOptions: LanguageModel.ProviderOptions
    ): Stream.Stream<Response.StreamPartEncoded, AiError.AiError> =>
      Stream.fromChannel(openStream<Response.StreamPartEncoded, never>(providerOptions, encodedOutput, undefined))

    const service = yield* LanguageModel.make({ generateText, streamText })
    const parentSpanTransformer = Option.getOrUndefined(yield* Effect.serviceOption(CurrentSpanTransformer))

    // Hot path: a plain generateText or generateObject (no toolkit) skips the library's
    // per-call response decoding, which builds a fresh Schema (and compiles its parser) on
    // every call, and for objects its per-call `Schema.parseJson` of the result schema.
    // Same span, same span transformer, same parts, same errors; anything else takes
    // the library path.
    const fastGenerate = <A, R>(
      spanName: string,
      attributes: Record<string, unknown>,
      prompt: Prompt.RawInput,
      responseFormat: LanguageModel.ProviderOptions["responseFormat"],
      finish: (content: Array<Response.Part<{}>>) => Effect.Effect<A, AiError.AiError, R>
    ): Effect.Effect<A, AiError.AiError, R> =>
      // One context read serves the request settings, the span transformer and the
      // span's parenting (what `Effect.withParentSpan` would read again).
      Effect.withFiberRuntime((fiber) => {
        const context = fiber.currentContext
        const call = (span: Span) => {
          const providerOptions: LanguageModel.ProviderOptions = {
            prompt: Prompt.make(prompt),
            tools: [],
            toolChoice: "none",
            responseFormat,
            span
          }
          return Effect.flatMap(generateWith(providerOptions, context), (encoded) => {
            const fast = ResponseParts.fromEncoded(encoded)
            const respond = (content: Array<Response.Part<{}>>) => {
              const transformer = context.unsafeMap.get(CurrentSpanTransformer.key) ?? parentSpanTransformer
              if (transformer !== undefined) transformer({ ...providerOptions, response: content })
              return finish(content)
            }
            return fast === undefined
              ? Effect.flatMap(
                Effect.mapError(decodePlainParts(encoded), (error) =>
                  // The library names generateText here for both methods.
                  AiError.MalformedOutput.fromParseError({ module: "LanguageModel", method: "generateText", error })),
                respond
              )
              : respond(fast)
          })
        }
        // Under Effect's built-in tracer (nothing exported) neither this span nor the HTTP
        // client's (its attributes, trace headers, parenting) reaches anybody: run the call
        // with the tracer off, which makes the client's a no-op, and with a no-op span of
        // ours (not `useSpan`, whose span and exit handler would be made for nobody).
        if (spansUnobserved(fiber)) {
          const call_ = call(unobservedSpan)
          return fiber.getFiberRef(FiberRef.currentTracerEnabled)
            ? Effect.locally(call_, FiberRef.currentTracerEnabled, false)
            : call_
        }
        return Effect.useSpan(spanName, { captureStackTrace: false, attributes }, (span) =>
          // The span as parent of the HTTP client's, with one context swap (what
          // `Effect.withParentSpan` would read the context again for).
          Effect.locally(call(span), FiberRef.currentContext, Context.add(context, Tracer.ParentSpan, span)))
      })

    const fastGenerateText = (
      options: Pick<LanguageModel.GenerateTextOptions<{}>, "prompt" | "concurrency"> & { readonly toolChoice?: unknown }
    ): Effect.Effect<LanguageModel.GenerateTextResponse<{}>, AiError.AiError> =>
      fastGenerate(
        "LanguageModel.generateText",
        { concurrency: options.concurrency, toolChoice: options.toolChoice },
        options.prompt,
        { type: "text" },
        (content) => Effect.succeed(new LanguageModel.GenerateTextResponse(content))
      )

    const fastGenerateObject = <A, I extends Record<string, unknown>, R>(
      options:
        & Pick<LanguageModel.GenerateObjectOptions<{}, A, I, R>, "prompt" | "concurrency" | "schema" | "objectName">
        & { readonly toolChoice?: unknown }
    ): Effect.Effect<LanguageModel.GenerateObjectResponse<{}, A>, AiError.AiError, R> => {
      const schema = options.schema
      const objectName = objectNameOf(options.objectName, schema)
      return fastGenerate(
        "LanguageModel.generateObject",
        { objectName, concurrency: options.concurrency, toolChoice: options.toolChoice },
        options.prompt,
        { type: "json", objectName, schema },
        (content) =>
          Effect.map(structuredOutput(content, schema), (value) => new LanguageModel.GenerateObjectResponse(value, content))
      )
    }

    // Hot path for streams too: without a toolkit, the library decodes every part of every
    // chunk with a Schema union it rebuilds per call (tens of microseconds per token, the
    // largest cost of a streamed token after the socket). Same span, same span transformer,
    // same parts; a chunk with a part the fast path does not build is decoded by the Schema.
    // With a deadline (`Resilience`'s timeout, see `internal/streamDeadline`), it is enforced here.
    const fastStreamText = <E = never>(
      options: PlainStreamOptions,
      deadline?: IdleDeadline<E>
    ): Stream.Stream<Response.StreamPart<{}>, AiError.AiError | E> =>
      Stream.fromChannel(Channel.suspend(() => {
        // Set when the span is made; the finalizer is registered before, so it always ends it.
        let end: ((exit: Exit.Exit<unknown, unknown>) => void) | undefined
        const open = Effect.withFiberRuntime<
          Channel.Channel<Chunk.Chunk<Response.StreamPart<{}>>, unknown, AiError.AiError | E, unknown, unknown, unknown>
        >((fiber) => {
          const context = fiber.currentContext
          let makeSpan = Effect.makeSpan("LanguageModel.streamText", {
            captureStackTrace: false,
            attributes: { concurrency: options.concurrency, toolChoice: options.toolChoice }
          })
          // As for generate: under Effect's built-in tracer this span reaches nobody.
          if (spansUnobserved(fiber)) makeSpan = Effect.locally(makeSpan, FiberRef.currentTracerEnabled, false)
          const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
          const timing = fiber.getFiberRef(FiberRef.currentTracerTimingEnabled)
          return Effect.map(Effect.uninterruptible(Effect.tap(makeSpan, (span) => {
            end = (exit) => {
              if (span.status._tag !== "Ended") span.end(timing ? clock.unsafeCurrentTimeNanos() : 0n, exit)
            }
          })), (span) => {
            const providerOptions: LanguageModel.ProviderOptions = {
              prompt: Prompt.make(options.prompt),
              tools: [],
              toolChoice: "none",
              responseFormat: { type: "text" },
              span
            }
            const parts = openStream(providerOptions, decodedOutput, deadline)
            const transformer = context.unsafeMap.get(CurrentSpanTransformer.key) ?? parentSpanTransformer
            return transformer === undefined
              ? parts
              : Stream.toChannel(ResponseParts.reportStream(Stream.fromChannel(parts), transformer, providerOptions))
          })
        })
        return Channel.ensuringWith(
          Channel.unwrap(open),
          (exit) => Effect.sync(() => end?.(exit))
        )
      }))

    const fastService: LanguageModel.Service = {
      ...service,
      streamText: (options) =>
        // As for generateText: no toolkit, no tool parts, AiError only.
        options.toolkit === undefined
          ? (fastStreamText(options) as ReturnType<LanguageModel.Service["streamText"]>)
          : service.streamText(options),
      generateText: (options) =>
        // Without a toolkit the options carry no tools, so the response has no tool
        // parts and the error is AiError: exactly this method's types for such options.
        options.toolkit === undefined
          ? (fastGenerateText(options) as ReturnType<LanguageModel.Service["generateText"]>)
          : service.generateText(options),
      generateObject: (options) =>
        // As for generateText: no toolkit, no tool parts, AiError only.
        options.toolkit === undefined
          ? (fastGenerateObject(options) as ReturnType<LanguageModel.Service["generateObject"]>)
          : service.generateObject(options)
    }
    // The deadline is enforced here only where an abort is known to end a pending read;
    // otherwise `Resilience` enforces it around the stream.
    return builtIn ? StreamDeadline.register(fastService, fastStreamText) : fastService
  })

// What reads a streamed reply: the body's bytes in, the call's stream parts out.
type EventsReader<Out, E> = Channel.Channel<
  Chunk.Chunk<Out>,
  Chunk.Chunk<Uint8Array>,
  AiError.AiError | E,
  HttpClientError.ResponseError,
  unknown,
  unknown
>

const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

// The span whose trace context a request through a caller's client carries (see `inTrace`).
const traceSpan = FiberRef.unsafeMake<Span | undefined>(undefined)

// Runs inside the client's own steps, where its propagation setting is in force.
const addTraceContext = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.withFiberRuntime<HttpClientRequest.HttpClientRequest>((fiber) => {
    const span = fiber.getFiberRef(traceSpan)
    return Effect.succeed(
      span !== undefined && fiber.getFiberRef(HttpClient.currentTracerPropagation)
        ? HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(span))
        : request
    )
  })

// The span is recorded (tracing on, not a no-op span) and its parent is core's LM span.
const inGeneration = (span: Span): boolean =>
  span.parent._tag === "Some" && span.parent.value._tag === "Span" &&
  span.parent.value.attributes.get("langfuse.observation.type") === "generation" &&
  !Context.get(span.context, Tracer.DisablePropagation)

// True when spans would reach nobody: tracing disabled, or Effect's built-in tracer
// (it keeps spans in memory and exports nothing).
const spansUnobserved = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  !fiber.getFiberRef(FiberRef.currentTracerEnabled) ||
  Context.get(fiber.currentDefaultServices, Tracer.Tracer) === nativeTracer

// The span handed to the provider and the span transformer when spans reach nobody: a
// no-op span, as `Effect.makeSpan` makes with tracing off (its methods do nothing).
const unobservedSpan: Span = Effect.runSync(Effect.withTracerEnabled(Effect.makeSpan("LanguageModel"), false))

// Built once (the library builds it per call).
const decodePlainParts = Schema.decodeUnknown(Schema.mutable(Schema.Array(Response.Part(Toolkit.empty))))

// The library's object name: the option, else the schema's `_tag` or `identifier`.
const objectNameOf = (objectName: string | undefined, schema: Schema.Schema.All): string =>
  objectName !== undefined
    ? objectName
    : "_tag" in schema && typeof schema._tag === "string"
    ? schema._tag
    : "identifier" in schema && typeof schema.identifier === "string"
    ? schema.identifier
    : "generateObject"

// `Schema.decode(Schema.parseJson(schema))`, built once per result schema (the library
// builds and compiles it per call). Callers pass the same schema per signature. A schema whose
// decoding runs no effect (plain checks: the usual signature) is decoded synchronously first,
// with no Effect run; the Effect decoder runs for every other schema (transformations and
// declarations may need the caller's services or be async) and for the error of a reply that
// does not conform.
interface ObjectDecoder {
  readonly sync: ((text: string) => Either.Either<unknown, ParseResult.ParseError>) | undefined
  readonly effect: (text: string) => Effect.Effect<unknown, ParseResult.ParseError, unknown>
}

const objectDecoders = new WeakMap<Schema.Schema.All, ObjectDecoder>()

const objectDecoder = <A, I, R>(schema: Schema.Schema<A, I, R>): (text: string) => Effect.Effect<A, ParseResult.ParseError, R> => {
  let decoder = objectDecoders.get(schema)
  if (decoder === undefined) {
    const fromJson = Schema.parseJson(schema)
    decoder = {
      // Only for a schema that decodes without effects, so the missing services are never asked for.
      sync: decodesWithoutEffects(schema.ast) ? Schema.decodeEither(Schema.make<unknown, string, never>(fromJson.ast)) : undefined,
      effect: Schema.decode(fromJson)
    }
    objectDecoders.set(schema, decoder)
  }
  const { effect, sync } = decoder
  return (text) => {
    if (sync === undefined) return effect(text) as Effect.Effect<A, ParseResult.ParseError, R>
    const decoded = sync(text)
    // Stored under this very schema, so it decodes to its `A` with its `R`.
    return (Either.isRight(decoded) ? Effect.succeed(decoded.right) : effect(text)) as Effect.Effect<
      A,
      ParseResult.ParseError,
      R
    >
  }
}

// The library's `resolveStructuredOutput`: the reply's text parts decoded with the schema.
const structuredOutput = <A, I, R>(
  content: ReadonlyArray<Response.Part<{}>>,
  schema: Schema.Schema<A, I, R>
): Effect.Effect<A, AiError.MalformedOutput, R> => {
  let text = ""
  let any = false
  for (const part of content) {
    if (part.type === "text") {
      text += part.text
      any = true
    }
  }
  if (!any) {
    return Effect.fail(
      new AiError.MalformedOutput({
        module: "LanguageModel",
        method: "generateObject",
        description: "No object was generated by the large language model"
      })
    )
  }
  return Effect.mapError(objectDecoder(schema)(text), (cause) =>
    new AiError.MalformedOutput({
      module: "LanguageModel",
      method: "generateObject",
      description: "Generated object failed to conform to provided schema",
      cause
    }))
}

// Built once (the library builds it per call).
const decodeStreamParts = Schema.decode(Schema.ChunkFromSelf(Response.StreamPart(Toolkit.empty)))

// What a stream makes of the encoded parts of one socket read: `fast` without an effect, or
// `undefined` for `slow`.
interface StreamOutput<Out> {
  readonly fast: (parts: Array<Response.StreamPartEncoded>) => Array<Out> | undefined
  readonly slow: (parts: Array<Response.StreamPartEncoded>) => Effect.Effect<Chunk.Chunk<Out>, AiError.AiError>
}

const encodedOutput: StreamOutput<Response.StreamPartEncoded> = {
  fast: (parts) => parts,
  slow: (parts) => Effect.succeed(Chunk.unsafeFromArray(parts))
}

// Decoded parts: built without a Schema when `ResponseParts` knows every part of the read.
const decodedOutput: StreamOutput<Response.StreamPart<{}>> = {
  fast: ResponseParts.fromEncodedStream,
  slow: (parts) =>
    Effect.mapError(decodeStreamParts(Chunk.unsafeFromArray(parts)), (error) =>
      AiError.MalformedOutput.fromParseError({ module: "LanguageModel", method: "streamText", error }))
}

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

/**
 * A chat-completions `LanguageModel` layer whose URL and key come from `Config`
 * (defaults: `OPENAI_COMPATIBLE_BASE_URL`, `OPENAI_COMPATIBLE_API_KEY`).
 *
 * @since 0.1.0
 */
export const layerConfig = (options: {
  readonly model: string
  readonly apiUrl?: Config_.Config<string> | undefined
  readonly apiKey?: Config_.Config<Redacted.Redacted | undefined> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly config?: Config.Service | undefined
}): Layer.Layer<LanguageModel.LanguageModel, ConfigError, HttpClient.HttpClient> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.gen(function*() {
      const apiUrl = yield* (options.apiUrl ?? Config_.string("OPENAI_COMPATIBLE_BASE_URL"))
      const apiKey = yield* (options.apiKey ??
        Config_.redacted("OPENAI_COMPATIBLE_API_KEY").pipe(Config_.option, Config_.map((o) => o._tag === "Some" ? o.value : undefined)))
      return yield* make({
        model: options.model,
        apiUrl,
        apiKey,
        headers: options.headers,
        config: options.config
      })
    })
  )
