/**
 * A response body's text read as JSON or as URL parameters, as platform's clients read them, for
 * our clients' responses (`undiciClient.ts`, `nodeHttpClient.ts`), which read the text once.
 *
 * @internal
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Effect from "effect/Effect"

type OnError = (cause: unknown) => HttpClientError.ResponseError

/** @internal */
export const json = (
  text: Effect.Effect<string, HttpClientError.ResponseError>,
  onError: OnError
): Effect.Effect<unknown, HttpClientError.ResponseError> =>
  Effect.tryMap(text, {
    try: (text) => text === "" ? null : JSON.parse(text),
    catch: onError
  })

/** @internal */
export const urlParams = (
  text: Effect.Effect<string, HttpClientError.ResponseError>,
  onError: OnError
): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> =>
  Effect.flatMap(text, (text) =>
    Effect.try({
      try: () => UrlParams.fromInput(new URLSearchParams(text)),
      catch: onError
    }))
