import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

/** Counters a test reads to check concurrency and interruption. */
export interface Counters {
  calls: number
  inFlight: number
  maxInFlight: number
  interrupted: number
  completed: number
  readonly prompts: Array<Prompt.Prompt>
}

/** The text of the last user message of a prompt. */
export const lastUserText = (prompt: Prompt.Prompt): string => {
  for (let i = prompt.content.length - 1; i >= 0; i--) {
    const message = prompt.content[i]!
    if (message.role === "user") {
      return message.content.map((part) => (part.type === "text" ? part.text : "")).join("")
    }
  }
  return ""
}

/** The system message of a prompt. */
export const systemText = (prompt: Prompt.Prompt): string => {
  const first = prompt.content[0]
  return first?.role === "system" ? first.content : ""
}

/** Reads `[[ ## name ## ]]` input values from a user message. */
export const inputsOf = (text: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const matches = [...text.matchAll(/\[\[ ## (\w+) ## \]\]\n([\s\S]*?)(?=\n\n\[\[ ## |\n\nRespond with|$)/g)]
  for (const m of matches) out[m[1]!] = m[2]!
  return out
}

/** Renders outputs in the chat adapter's format. */
export const reply = (fields: Record<string, unknown>): string =>
  Object.entries(fields)
    .map(([k, v]) => `[[ ## ${k} ## ]]\n${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join("\n\n") + "\n\n[[ ## completed ## ]]"

/**
 * A scripted LanguageModel: `respond` gives the reply text for each call (it may be an Effect,
 * e.g. a sleep under TestClock). Counts calls and in-flight calls.
 */
export const make = (
  respond: (prompt: Prompt.Prompt, call: number) => string | Effect.Effect<string>
): { readonly layer: Layer.Layer<LanguageModel.LanguageModel>; readonly counters: Counters } => {
  const counters: Counters = { calls: 0, inFlight: 0, maxInFlight: 0, interrupted: 0, completed: 0, prompts: [] }
  const generate = (options: LanguageModel.ProviderOptions) =>
    Effect.suspend(() => {
      counters.calls++
      counters.prompts.push(options.prompt)
      counters.inFlight++
      counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight)
      const result = respond(options.prompt, counters.calls)
      return (typeof result === "string" ? Effect.succeed(result) : result).pipe(
        Effect.onInterrupt(() => Effect.sync(() => counters.interrupted++)),
        Effect.ensuring(Effect.sync(() => counters.inFlight--)),
        Effect.tap(() => Effect.sync(() => counters.completed++)),
        Effect.map((text): Array<Response.PartEncoded> => [
          { type: "text", text },
          {
            type: "finish",
            reason: "stop",
            usage: { inputTokens: 10, outputTokens: Math.ceil(text.length / 4), totalTokens: 10 + Math.ceil(text.length / 4) }
          }
        ])
      )
    })
  const layer = Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: generate,
      streamText: (options) =>
        Stream.fromIterableEffect(
          Effect.map(generate(options), (parts): Array<Response.StreamPartEncoded> =>
            parts.flatMap((part): Array<Response.StreamPartEncoded> =>
              part.type === "text"
                ? [
                  { type: "text-start", id: "t" },
                  { type: "text-delta", id: "t", delta: part.text },
                  { type: "text-end", id: "t" }
                ]
                : part.type === "finish"
                ? [part]
                : []
            ))
        )
    })
  )
  return { layer, counters }
}
