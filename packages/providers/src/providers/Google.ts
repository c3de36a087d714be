/**
 * `google/<model>`: Gemini's `generateContent` API through `@effect/ai-google`.
 *
 * The client is the library's, with what it does not check: a blocked prompt
 * (`promptFeedback.blockReason`), a reply stopped by a safety filter or cut by `MAX_TOKENS`, an
 * `{"error": …}` object inside the stream, and a stream that ends before a candidate's
 * `finishReason` each fail the call with their own `LmError`.
 *
 * @internal
 */
import * as Generated from "@effect/ai-google/Generated"
import * as GoogleClient from "@effect/ai-google/GoogleClient"
import * as GoogleLanguageModel from "@effect/ai-google/GoogleLanguageModel"
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

const filters = new Set(["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE", "IMAGE_SAFETY"])

const verdict = (
  guard: Guard,
  response: Generated.GenerateContentResponse,
  text: string
): LmError.LmError | undefined => {
  const blocked = response.promptFeedback?.blockReason
  if (blocked) {
    return new LmError.ContentFiltered({ provider: guard.provider, partialText: "", description: `the prompt was blocked (${blocked})` })
  }
  const candidate = response.candidates?.[0]
  const reason = candidate?.finishReason
  if (reason === undefined || reason === "STOP") return undefined
  if (reason === "MAX_TOKENS") {
    return new LmError.Truncated({
      provider: guard.provider,
      partialText: text,
      description: `the reply reached maxOutputTokens (finishReason MAX_TOKENS) after ${text.length} characters`
    })
  }
  const categories = (candidate?.safetyRatings ?? []).filter((r) => r.blocked === true).map((r) => r.category)
  const words = [reason, ...categories, candidate?.finishMessage ?? ""].filter((s) => s !== "").join(": ")
  if (filters.has(reason) || reason.startsWith("IMAGE_")) {
    return new LmError.ContentFiltered({ provider: guard.provider, partialText: text, description: guard.scrub(`the reply was stopped (${words})`) })
  }
  if (reason === "MALFORMED_FUNCTION_CALL" || reason === "UNEXPECTED_TOOL_CALL" || reason === "TOO_MANY_TOOL_CALLS") {
    return new LmError.MalformedResponse({ provider: guard.provider, fromWire: true, description: `the model stopped with ${words}` })
  }
  return undefined
}

const textOf = (response: Generated.GenerateContentResponse): string =>
  (response.candidates?.[0]?.content?.parts ?? []).map((p) => (p.thought === true ? "" : p.text ?? "")).join("")

// An `{"error": …}` object sent inside the stream (the library's schema would read it as an
// empty response).
const LooseError = Schema.Struct({ error: Schema.Union(Schema.String, Schema.Record({ key: Schema.String, value: Schema.Unknown })) })
const StreamEvent = Schema.Union(LooseError, Generated.GenerateContentResponse)

const ends = (event: Generated.GenerateContentResponse): boolean =>
  event.promptFeedback?.blockReason != null || (event.candidates ?? []).some((c) => c.finishReason != null)

const guarded = (guard: Guard, client: GoogleClient.Service): GoogleClient.Service => ({
  ...client,
  generateContent: (request) =>
    scrubbed(guard, client.generateContent(request)).pipe(Effect.flatMap((response) => {
      const failure = verdict(guard, response, textOf(response))
      return failure === undefined ? Effect.succeed(response) : fail(failure, "generateText")
    })),
  generateContentStream: (request) =>
    Stream.suspend(() => {
      let text = ""
      return requireEnd(
        guard,
        client.streamRequest(
          HttpClientRequest.post(`/v1beta/models/${request.model}:streamGenerateContent`, {
            urlParams: { alt: "sse" },
            body: HttpBody.unsafeJson(request)
          }),
          StreamEvent
        ),
        (event) => "error" in event || ends(event),
        (event) => {
          if ("error" in event) return failInBand(guard, "streamText", event.error)
          text += textOf(event)
          const failure = verdict(guard, event, text)
          return failure === undefined ? Effect.succeed(event) : fail(failure, "streamText")
        },
        "a candidate's finishReason"
      )
    })
})

// Thinking budgets for `reasoningEffort` (tokens).
const budgets = { minimal: 0, low: 1024, medium: 8192, high: 24576 } as const

/** @internal */
export const make: Provider["make"] = (model, options) =>
  Effect.gen(function*() {
    const apiKey = options.apiKey ?? (yield* optionalRedacted("GEMINI_API_KEY")) ?? (yield* optionalRedacted("GOOGLE_API_KEY"))
    const baseUrl = options.baseUrl ?? (yield* optionalString("GOOGLE_BASE_URL"))
    if (apiKey === undefined && baseUrl === undefined) {
      return yield* new MissingConfiguration({ modelId: `google/${model}`, variables: ["GEMINI_API_KEY", "GOOGLE_API_KEY"] })
    }
    const { headers, url, urlParams } = endpoint(baseUrl ?? "https://generativelanguage.googleapis.com")
    const secrets = apiKey === undefined ? [] : [apiKey]
    const guard: Guard = { provider: `google/${model}`, scrub: Redaction.makeScrubber(secrets).apply }
    const effort = options.reasoningEffort
    const layer = Layer.scoped(
      LanguageModel.LanguageModel,
      Effect.gen(function*() {
        const client = yield* GoogleClient.make({ apiKey, apiUrl: url, transformClient: withHeaders({ ...headers, ...options.headers }, urlParams) })
        const service = yield* GoogleLanguageModel.make({ model }).pipe(
          Effect.provideService(GoogleClient.GoogleClient, guarded(guard, client))
        )
        return withCallConfig(service, GoogleLanguageModel.Config, (settings, extras, current) => ({
          ...extras.body,
          toolConfig: current?.toolConfig ?? {},
          generationConfig: defined({
            ...current?.generationConfig,
            temperature: settings.temperature ?? current?.generationConfig?.temperature,
            topP: settings.topP ?? current?.generationConfig?.topP,
            maxOutputTokens: settings.maxTokens ?? current?.generationConfig?.maxOutputTokens,
            seed: settings.seed ?? current?.generationConfig?.seed,
            thinkingConfig: effort === undefined ? current?.generationConfig?.thinkingConfig : { thinkingBudget: budgets[effort] }
          })
        }))
      })
    )
    return { layer, secrets, baseUrl: url }
  })
