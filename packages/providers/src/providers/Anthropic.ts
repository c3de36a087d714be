/**
 * `anthropic/<model>`: Anthropic's Messages API through `@effect/ai-anthropic`.
 *
 * The client is the library's, with what it does not check: an `event: error` (whatever its
 * type), a stream without `message_stop`, a refusal (`stop_reason: "refusal"`) and a reply cut
 * by `max_tokens` each fail the call with their own `LmError`.
 *
 * @internal
 */
import * as AnthropicClient from "@effect/ai-anthropic/AnthropicClient"
import * as AnthropicLanguageModel from "@effect/ai-anthropic/AnthropicLanguageModel"
import type * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import { Redaction } from "@effect-dspy/core"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { fail, failInBand, type Guard, requireEnd, scrubbed, withHeaders } from "../internal/guard.js"
import { defined, endpoint, optionalRedacted, optionalString, withCallConfig } from "../internal/settings.js"
import * as LmError from "../LmError.js"
import { MissingConfiguration, type Provider } from "../ProviderRegistry.js"

const verdict = (guard: Guard, stopReason: string | null | undefined, text: string): LmError.LmError | undefined => {
  switch (stopReason) {
    case "refusal":
      return new LmError.Refused({
        provider: guard.provider,
        description: guard.scrub(text === "" ? "the model declined to answer (stop_reason \"refusal\")" : text)
      })
    case "max_tokens":
      return new LmError.Truncated({
        provider: guard.provider,
        partialText: text,
        description: `the reply reached max_tokens after ${text.length} characters`
      })
  }
  return undefined
}

// Error events of any type (the library's schema lists eight and rejects the others).
const LooseError = Schema.Struct({ type: Schema.Literal("error"), error: Schema.Unknown })
const StreamEvent = Schema.Union(LooseError, AnthropicClient.MessageStreamEvent)

// Thinking budgets for `reasoningEffort` (tokens).
const budgets = { minimal: 1024, low: 2048, medium: 8192, high: 24576 } as const

const guarded = (guard: Guard, client: AnthropicClient.Service): AnthropicClient.Service => ({
  ...client,
  createMessage: (options) =>
    scrubbed(guard, client.createMessage(options)).pipe(Effect.flatMap((message) => {
      const text = message.content.map((block) => (block.type === "text" ? block.text : "")).join("")
      const failure = verdict(guard, message.stop_reason, text)
      return failure === undefined ? Effect.succeed(message) : fail(failure, "generateText")
    })),
  createMessageStream: (options) =>
    Stream.suspend(() => {
      let stopReason: string | null | undefined
      let text = ""
      return requireEnd(
        guard,
        client.streamRequest(
          HttpClientRequest.post("/v1/messages", {
            headers: defined({ "anthropic-beta": options.params?.["anthropic-beta"] ?? undefined }),
            body: HttpBody.unsafeJson({ ...options.payload, stream: true })
          }),
          StreamEvent
        ),
        (event) => event.type === "message_stop",
        (event): Effect.Effect<AnthropicClient.MessageStreamEvent, AiError.AiError> => {
          switch (event.type) {
            case "error":
              return failInBand(guard, "streamText", event.error)
            case "content_block_delta":
              if (event.delta.type === "text_delta") text += event.delta.text
              break
            case "message_delta":
              stopReason = event.delta.stop_reason ?? stopReason
              break
            case "message_stop": {
              const failure = verdict(guard, stopReason, text)
              if (failure !== undefined) return fail(failure, "streamText")
            }
          }
          return Effect.succeed(event)
        },
        "message_stop"
      )
    })
})

/** @internal */
export const make: Provider["make"] = (model, options) =>
  Effect.gen(function*() {
    const apiKey = options.apiKey ?? (yield* optionalRedacted("ANTHROPIC_API_KEY"))
    const baseUrl = options.baseUrl ?? (yield* optionalString("ANTHROPIC_BASE_URL"))
    if (apiKey === undefined && baseUrl === undefined) {
      return yield* new MissingConfiguration({ modelId: `anthropic/${model}`, variables: ["ANTHROPIC_API_KEY"] })
    }
    const { headers, url, urlParams } = endpoint(baseUrl ?? "https://api.anthropic.com")
    const secrets = apiKey === undefined ? [] : [apiKey]
    const guard: Guard = { provider: `anthropic/${model}`, scrub: Redaction.makeScrubber(secrets).apply }
    const effort = options.reasoningEffort
    const layer = Layer.scoped(
      LanguageModel.LanguageModel,
      Effect.gen(function*() {
        const client = yield* AnthropicClient.make({ apiKey, apiUrl: url, transformClient: withHeaders({ ...headers, ...options.headers }, urlParams) })
        const service = yield* AnthropicLanguageModel.make({
          model,
          ...(effort === undefined ? {} : { config: { thinking: { type: "enabled", budget_tokens: budgets[effort] } } })
        }).pipe(Effect.provideService(AnthropicClient.AnthropicClient, guarded(guard, client)))
        return withCallConfig(service, AnthropicLanguageModel.Config, (settings, extras) =>
          defined({
            ...extras.body,
            // Extended thinking takes neither.
            temperature: effort === undefined ? settings.temperature : undefined,
            top_p: effort === undefined ? settings.topP : undefined,
            // With thinking on, the answer needs room beyond the thinking budget.
            max_tokens: settings.maxTokens === undefined ? undefined : settings.maxTokens + (effort === undefined ? 0 : budgets[effort])
          }))
      })
    )
    return { layer, secrets, baseUrl: url }
  })
