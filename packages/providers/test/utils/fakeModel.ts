/**
 * A scripted in-memory LanguageModel for policy tests: each call takes the next
 * outcome (the last repeats) and records the clock time of each attempt.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { Clock, Effect, Layer, Option, Stream } from "effect"

export type Outcome =
  | { readonly _tag: "Ok"; readonly text: string }
  | { readonly _tag: "Fail"; readonly error: AiError.AiError }
  | { readonly _tag: "Hang" }
  /** Streams: emit these text deltas, then fail with the error (or finish when absent). */
  | { readonly _tag: "Stream"; readonly deltas: ReadonlyArray<string>; readonly error?: AiError.AiError }

export const ok = (text = "ok"): Outcome => ({ _tag: "Ok", text })
export const fail = (error: AiError.AiError): Outcome => ({ _tag: "Fail", error })
export const hang: Outcome = { _tag: "Hang" }
export const streamOf = (deltas: ReadonlyArray<string>, error?: AiError.AiError): Outcome =>
  error === undefined ? { _tag: "Stream", deltas } : { _tag: "Stream", deltas, error }

export const httpError = (
  status: number,
  headers: Record<string, string> = {},
  body?: string
): AiError.HttpResponseError =>
  new AiError.HttpResponseError({
    module: "Fake",
    method: "generateText",
    reason: "StatusCode",
    request: { method: "POST", url: "http://127.0.0.1/v1/chat/completions", urlParams: [], hash: Option.none(), headers: {} },
    response: { status, headers },
    ...(body === undefined ? {} : { body })
  })

export const resetError = (): AiError.HttpRequestError =>
  new AiError.HttpRequestError({
    module: "Fake",
    method: "generateText",
    reason: "Transport",
    description: "read ECONNRESET",
    request: { method: "POST", url: "http://127.0.0.1/v1/chat/completions", urlParams: [], hash: Option.none(), headers: {} }
  })

const finish: Response.StreamPartEncoded = {
  type: "finish",
  reason: "stop",
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }
}

export interface FakeModel {
  /** Clock millis at the start of each attempt. */
  readonly attempts: Array<number>
  readonly layer: Layer.Layer<LanguageModel.LanguageModel>
}

export const makeFakeModel = (outcomes: ReadonlyArray<Outcome>): FakeModel => {
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
            case "Ok":
              return Effect.succeed([{ type: "text", text: outcome.text }, finish])
            case "Fail":
              return Effect.fail(outcome.error)
            case "Hang":
              return Effect.never
            case "Stream":
              return Effect.succeed([{ type: "text", text: outcome.deltas.join("") }, finish])
          }
        }),
      streamText: () =>
        Stream.unwrap(Effect.map(next, (outcome): Stream.Stream<Response.StreamPartEncoded, AiError.AiError> => {
          switch (outcome._tag) {
            case "Ok":
              return Stream.fromIterable<Response.StreamPartEncoded>([
                { type: "response-metadata", id: "r" },
                { type: "text-start", id: "t" },
                { type: "text-delta", id: "t", delta: outcome.text },
                { type: "text-end", id: "t" },
                finish
              ])
            case "Fail":
              // metadata first: a failure before any content is still retryable
              return Stream.concat(
                Stream.fromIterable<Response.StreamPartEncoded>([
                  { type: "response-metadata", id: "r" },
                  { type: "text-start", id: "t" }
                ]),
                Stream.fail(outcome.error)
              )
            case "Hang":
              return Stream.never
            case "Stream": {
              const parts: Array<Response.StreamPartEncoded> = [
                { type: "response-metadata", id: "r" },
                { type: "text-start", id: "t" },
                ...outcome.deltas.map((delta): Response.StreamPartEncoded => ({ type: "text-delta", id: "t", delta }))
              ]
              return outcome.error === undefined
                ? Stream.fromIterable([...parts, { type: "text-end", id: "t" }, finish])
                : Stream.concat(Stream.fromIterable(parts), Stream.fail(outcome.error))
            }
          }
        }))
    })
  )
  return { attempts, layer }
}
