import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** Counters a test reads to check concurrency and calls. */
export interface Counters {
  calls: number
  inFlight: number
  maxInFlight: number
  completed: number
  readonly questions: Array<string>
}

/** The text of the last user message of a prompt. */
export const lastUserText = (prompt: Prompt.Prompt): string => {
  for (let i = prompt.content.length - 1; i >= 0; i--) {
    const message = prompt.content[i]!
    if (message.role === "user") return message.content.map((part) => (part.type === "text" ? part.text : "")).join("")
  }
  return ""
}

/** Reads `[[ ## name ## ]]` input values from a user message. */
export const inputsOf = (text: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const m of text.matchAll(/\[\[ ## (\w+) ## \]\]\n([\s\S]*?)(?=\n\n\[\[ ## |\n\nRespond with|$)/g)) out[m[1]!] = m[2]!
  return out
}

/** Renders outputs in the chat adapter's format. */
export const reply = (fields: Record<string, unknown>): string =>
  Object.entries(fields).map(([k, v]) => `[[ ## ${k} ## ]]\n${typeof v === "string" ? v : JSON.stringify(v)}`).join("\n\n") +
  "\n\n[[ ## completed ## ]]"

/** An HTTP failure as a provider reports it. */
export const httpError = (status: number, headers: Record<string, string> = {}) =>
  new AiError.HttpResponseError({
    module: "Scripted",
    method: "generateText",
    reason: "StatusCode",
    request: { method: "POST", url: "https://scripted.test/v1", urlParams: [], hash: Option.none(), headers: {} },
    response: { status, headers },
    description: `HTTP ${status}`
  })

/**
 * A scripted LanguageModel: `respond` gets the call's `question` input and the call number and
 * gives the reply text, or fails (it may be an Effect, e.g. a sleep under TestClock).
 */
export const make = (
  respond: (question: string, call: number, counters: Counters) => Effect.Effect<string, AiError.AiError> | string
): { readonly layer: Layer.Layer<LanguageModel.LanguageModel>; readonly counters: Counters } => {
  const counters: Counters = { calls: 0, inFlight: 0, maxInFlight: 0, completed: 0, questions: [] }
  const generate = (options: LanguageModel.ProviderOptions) =>
    Effect.suspend(() => {
      counters.calls++
      const question = inputsOf(lastUserText(options.prompt))["question"] ?? ""
      counters.questions.push(question)
      counters.inFlight++
      counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight)
      const result = respond(question, counters.calls, counters)
      return (typeof result === "string" ? Effect.succeed(result) : result).pipe(
        Effect.ensuring(Effect.sync(() => counters.inFlight--)),
        Effect.tap(() => Effect.sync(() => counters.completed++)),
        Effect.map((text): Array<Response.PartEncoded> => [
          { type: "text", text },
          { type: "finish", reason: "stop", usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 } }
        ])
      )
    })
  const layer = Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: generate,
      // A stream ends with its finish part (a stream without one is a failed call).
      streamText: (options) =>
        Stream.fromIterableEffect(Effect.map(generate(options), (parts) => parts.filter((part) => part.type === "finish")))
    })
  )
  return { layer, counters }
}
