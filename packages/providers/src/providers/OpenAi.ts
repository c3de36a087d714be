/**
 * `openai/<model>`: OpenAI's Responses API through `@effect/ai-openai` (or its chat completions
 * through `ChatCompletions` with `api: "chat-completions"` / `OPENAI_API=chat-completions`, e.g.
 * when `OPENAI_BASE_URL` points at a server that only speaks that).
 *
 * The client is the library's, with what it does not check: a response that `failed`, an `error`
 * event, a stream without `response.completed` / `response.incomplete`, a refusal, and a reply cut
 * by `max_output_tokens` or a content filter each fail the call with their own `LmError`.
 *
 * @internal
 */
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import type * as Generated from "@effect/ai-openai/Generated"
import * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
import * as LanguageModel from "@effect/ai/LanguageModel"
import { Redaction } from "@effect-dspy/core"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as ChatCompletions from "../ChatCompletions.js"
import { fail, failInBand, type Guard, requireEnd, scrubbed, withHeaders } from "../internal/guard.js"
import { defined, endpoint, isReasoningModel, optionalRedacted, optionalString, withCallConfig } from "../internal/settings.js"
import * as LmError from "../LmError.js"
import { MissingConfiguration, type Provider } from "../ProviderRegistry.js"

// What a finished response says about itself, when that is a failure.
const verdict = (guard: Guard, response: Generated.Response, nowMillis: number): LmError.LmError | undefined => {
  if (response.status === "failed") {
    return LmError.fromReply({ provider: guard.provider, body: { error: response.error }, nowMillis, scrub: guard.scrub })
  }
  let text = ""
  let refusal = ""
  for (const item of response.output) {
    if (item.type !== "message") continue
    for (const part of item.content) {
      if (part.type === "output_text") text += part.text
      else refusal += part.refusal
    }
  }
  if (refusal !== "") return new LmError.Refused({ provider: guard.provider, description: guard.scrub(refusal) })
  switch (response.incomplete_details?.reason) {
    case "max_output_tokens":
      return new LmError.Truncated({
        provider: guard.provider,
        partialText: text,
        description: `the reply reached max_output_tokens after ${text.length} characters`
      })
    case "content_filter":
      return new LmError.ContentFiltered({ provider: guard.provider, partialText: text, description: "a content filter stopped the reply" })
  }
  return undefined
}

// Events a proxy or a newer API may send that the library's schema does not know: an error
// object without a `type`, and a failure with an error code outside its list.
const LooseError = Schema.Struct({ error: Schema.Union(Schema.String, Schema.Record({ key: Schema.String, value: Schema.Unknown })) })
const LooseFailed = Schema.Struct({
  type: Schema.Literal("response.failed"),
  response: Schema.Struct({ error: Schema.optional(Schema.NullOr(Schema.Unknown)) })
})
const StreamEvent = Schema.Union(LooseError, LooseFailed, OpenAiClient.ResponseStreamEvent)

const guarded = (guard: Guard, client: OpenAiClient.Service): OpenAiClient.Service => ({
  ...client,
  createResponse: (request) =>
    scrubbed(guard, client.createResponse(request)).pipe(
      Effect.flatMap((response) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const failure = verdict(guard, response, now)
          return failure === undefined ? Effect.succeed(response) : fail(failure, "generateText")
        })
      )
    ),
  createResponseStream: (request) =>
    requireEnd(
      guard,
      client.streamRequest(
        HttpClientRequest.post("/responses", { body: HttpBody.unsafeJson({ ...request, stream: true }) }),
        StreamEvent
      ),
      (event) => "type" in event && (event.type === "response.completed" || event.type === "response.incomplete"),
      (event): Effect.Effect<OpenAiClient.ResponseStreamEvent, import("@effect/ai/AiError").AiError> => {
        if (!("type" in event)) return failInBand(guard, "streamText", event.error)
        switch (event.type) {
          case "error":
            return failInBand(guard, "streamText", { code: event.code, message: event.message })
          case "response.failed":
            return failInBand(guard, "streamText", event.response.error ?? { message: "the response failed" })
          case "response.completed":
          case "response.incomplete":
            return Effect.flatMap(Clock.currentTimeMillis, (now) => {
              const failure = verdict(guard, event.response, now)
              return failure === undefined ? Effect.succeed(event) : fail(failure, "streamText")
            })
        }
        return Effect.succeed(event)
      },
      "response.completed"
    )
})

/** @internal */
export const make: Provider["make"] = (model, options) =>
  Effect.gen(function*() {
    const apiKey = options.apiKey ?? (yield* optionalRedacted("OPENAI_API_KEY"))
    const baseUrl = options.baseUrl ?? (yield* optionalString("OPENAI_BASE_URL"))
    if (apiKey === undefined && baseUrl === undefined) {
      return yield* new MissingConfiguration({ modelId: `openai/${model}`, variables: ["OPENAI_API_KEY"] })
    }
    const organization = options.organization ?? (yield* optionalString("OPENAI_ORG_ID"))
    const project = options.project ?? (yield* optionalString("OPENAI_PROJECT_ID"))
    const api = options.api ?? (yield* optionalString("OPENAI_API"))
    const { headers, url, urlParams } = endpoint(baseUrl ?? "https://api.openai.com/v1")
    const secrets = apiKey === undefined ? [] : [apiKey]
    if (api === "chat-completions") {
      const layer = ChatCompletions.layer({
        model,
        apiUrl: url,
        urlParams,
        apiKey,
        headers: { ...headers, ...defined({ "OpenAI-Organization": organization, "OpenAI-Project": project }), ...options.headers },
        config: { reasoning_effort: options.reasoningEffort, ...options.chatCompletions }
      })
      return { layer, secrets, baseUrl: url }
    }
    if (api !== undefined && api !== "responses") {
      yield* Effect.logWarning(`OPENAI_API=${api} is neither "responses" nor "chat-completions": using the Responses API`)
    }
    const guard: Guard = { provider: `openai/${model}`, scrub: Redaction.makeScrubber(secrets).apply }
    const reasoning = isReasoningModel(model)
    const layer = Layer.scoped(
      LanguageModel.LanguageModel,
      Effect.gen(function*() {
        const client = yield* OpenAiClient.make({
          apiKey,
          apiUrl: url,
          organizationId: organization === undefined ? undefined : Redacted.make(organization),
          projectId: project === undefined ? undefined : Redacted.make(project),
          transformClient: withHeaders({ ...headers, ...options.headers }, urlParams)
        })
        const service = yield* OpenAiLanguageModel.make({
          model,
          ...(options.reasoningEffort === undefined ? {} : { config: { reasoning: { effort: options.reasoningEffort } } })
        }).pipe(Effect.provideService(OpenAiClient.OpenAiClient, guarded(guard, client)))
        // Reasoning models reject `temperature` and `top_p`.
        return withCallConfig(service, OpenAiLanguageModel.Config, (settings, extras) =>
          defined({
            ...extras.body,
            temperature: reasoning ? undefined : settings.temperature,
            top_p: reasoning ? undefined : settings.topP,
            max_output_tokens: settings.maxTokens
          }))
      })
    )
    return { layer, secrets, baseUrl: url }
  })
