/**
 * A `LanguageModel` (built with `LanguageModel.make`) that answers each call with the next
 * scripted outcome and records when (on the `Clock`) each attempt started.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { Clock, Effect, Layer, Option, Stream } from "effect"

/** One attempt's outcome. */
export type Outcome =
  | { readonly _tag: "ok"; readonly text: string }
  | { readonly _tag: "fail"; readonly error: AiError.AiError }
  | { readonly _tag: "hang" }
  /** Streams: some text, then a failure. */
  | { readonly _tag: "partial"; readonly text: string; readonly error: AiError.AiError }

export const ok = (text = "ok"): Outcome => ({ _tag: "ok", text })
export const fail = (error: AiError.AiError): Outcome => ({ _tag: "fail", error })
export const hang: Outcome = { _tag: "hang" }
export const partial = (text: string, error: AiError.AiError): Outcome => ({ _tag: "partial", text, error })

const request = { method: "POST" as const, url: "https://api.example.com/v1/chat/completions", urlParams: [], hash: Option.none(), headers: {} }

/** An HTTP error status as the `@effect/ai-*` clients report it. */
export const httpError = (status: number, headers: Record<string, string> = {}, body?: unknown) =>
  new AiError.HttpResponseError({
    module: "Fake",
    method: "generateText",
    reason: "StatusCode",
    request,
    response: { status, headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })

/** A connection reset. */
export const resetError = () =>
  new AiError.HttpRequestError({ module: "Fake", method: "generateText", reason: "Transport", request, description: "ECONNRESET: socket hang up" })

const finish: Response.StreamPartEncoded = { type: "finish", reason: "stop", usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }

/** The fake model; `attempts` holds the `Clock` time of every attempt. */
export const make = (outcomes: ReadonlyArray<Outcome>) => {
  const attempts: Array<number> = []
  const next = Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.sync(() => {
      attempts.push(now)
      return outcomes[Math.min(attempts.length - 1, outcomes.length - 1)]!
    }))
  const layer = Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: () =>
        Effect.flatMap(next, (outcome): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> => {
          switch (outcome._tag) {
            case "ok":
              return Effect.succeed([{ type: "text", text: outcome.text }, finish])
            case "hang":
              return Effect.never
            default:
              return Effect.fail(outcome.error)
          }
        }),
      streamText: () =>
        Stream.unwrap(Effect.map(next, (outcome): Stream.Stream<Response.StreamPartEncoded, AiError.AiError> => {
          const text = (t: string): Array<Response.StreamPartEncoded> => [
            { type: "response-metadata", id: "r" },
            { type: "text-start", id: "t" },
            { type: "text-delta", id: "t", delta: t }
          ]
          switch (outcome._tag) {
            case "ok":
              return Stream.fromIterable([...text(outcome.text), { type: "text-end", id: "t" }, finish])
            case "hang":
              return Stream.never
            case "fail":
              return Stream.concat(Stream.succeed<Response.StreamPartEncoded>({ type: "response-metadata", id: "r" }), Stream.fail(outcome.error))
            case "partial":
              return Stream.concat(Stream.fromIterable(text(outcome.text)), Stream.fail(outcome.error))
          }
        }))
    })
  )
  return { layer, attempts }
}
