/**
 * A scripted LanguageModel for tests (the idea of core's test helper): `respond` gives the
 * reply text of each call, or an AiError to fail with. Replies carry response metadata
 * (model id, response id) and usage, as a provider's would.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"

export interface Counters {
  calls: number
  readonly prompts: Array<Prompt.Prompt>
  /** The ids the inner span (`innerSpan`) had, as a `traceparent` header would carry them. */
  readonly innerSpanIds: Array<{ readonly traceId: string; readonly spanId: string }>
}

/** The text of the last user message of a prompt. */
export const lastUserText = (prompt: Prompt.Prompt): string => {
  for (let i = prompt.content.length - 1; i >= 0; i--) {
    const message = prompt.content[i]!
    if (message.role === "user") return message.content.map((part) => (part.type === "text" ? part.text : "")).join("")
  }
  return ""
}

/** Renders outputs in the chat adapter's format. */
export const reply = (fields: Record<string, unknown>): string =>
  Object.entries(fields)
    .map(([k, v]) => `[[ ## ${k} ## ]]\n${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join("\n\n") + "\n\n[[ ## completed ## ]]"

/** A failure as a provider would report it. */
export const httpError = (description: string) =>
  new AiError.HttpResponseError({
    module: "ScriptedLm",
    method: "generateText",
    reason: "StatusCode",
    request: { method: "POST", url: "https://api.example.test/v1/chat/completions", urlParams: [], hash: Option.none(), headers: {} },
    response: { status: 500, headers: {} },
    description
  })

export const make = (
  respond: (prompt: Prompt.Prompt, call: number) => string | AiError.AiError,
  options: {
    readonly modelId?: string
    readonly innerSpan?: string
    readonly innerSpanKind?: Tracer.SpanKind
    readonly innerSpanAttributes?: Record<string, unknown>
    /** How long each call takes, on Effect's clock. */
    readonly delay?: Duration.DurationInput
    /** The usage each call reports (default: 10 input tokens, a quarter of the reply's characters out). */
    readonly usage?: typeof Response.Usage.Encoded
  } = {}
): { readonly layer: Layer.Layer<LanguageModel.LanguageModel>; readonly counters: Counters } => {
  const counters: Counters = { calls: 0, prompts: [], innerSpanIds: [] }
  const generate = (providerOptions: LanguageModel.ProviderOptions) =>
    Effect.suspend(() => {
      counters.calls++
      counters.prompts.push(providerOptions.prompt)
      const result = respond(providerOptions.prompt, counters.calls)
      if (typeof result !== "string") return Effect.fail(result)
      const outputTokens = Math.ceil(result.length / 4)
      const parts = Effect.succeed<Array<Response.PartEncoded>>([
        { type: "response-metadata", id: `resp-${counters.calls}`, modelId: options.modelId ?? "scripted-model-2025" },
        { type: "text", text: result },
        { type: "finish", reason: "stop", usage: options.usage ?? { inputTokens: 10, outputTokens, totalTokens: 10 + outputTokens } }
      ])
      const reply = options.delay === undefined ? parts : Effect.zipRight(Effect.sleep(Duration.decode(options.delay)), parts)
      // A provider's own span (an HTTP request, say) inside the call.
      if (options.innerSpan === undefined) return reply
      const recordIds = Effect.tap(Effect.currentSpan, (span) => Effect.sync(() => counters.innerSpanIds.push({ traceId: span.traceId, spanId: span.spanId })))
      return Effect.withSpan(Effect.zipRight(Effect.orDie(recordIds), reply), options.innerSpan, {
        kind: options.innerSpanKind ?? "internal",
        ...(options.innerSpanAttributes === undefined ? {} : { attributes: options.innerSpanAttributes })
      })
    })
  const layer = Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: generate,
      streamText: (providerOptions) =>
        Stream.fromIterableEffect(Effect.map(generate(providerOptions), (parts): Array<Response.StreamPartEncoded> =>
          parts.flatMap((part): Array<Response.StreamPartEncoded> =>
            part.type === "text"
              ? [{ type: "text-start", id: "t" }, { type: "text-delta", id: "t", delta: part.text }, { type: "text-end", id: "t" }]
              : part.type === "finish" || part.type === "response-metadata"
              ? [part]
              : []
          )))
    })
  )
  return { layer, counters }
}
