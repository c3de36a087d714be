/**
 * What the providers built on `@effect/ai-*` clients add to them, at the client so that every
 * span and log below `Lm` already sees it: secrets hidden in failures, an error the server reported
 * in a 200 body or inside a stream failing the call with its classification, a stream that ends
 * without its protocol's end failing as a cut connection, and per-call headers.
 *
 * @internal
 */
import type * as AiError from "@effect/ai/AiError"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as LmError from "../LmError.js"
import { RequestOptions } from "../RequestOptions.js"

/** @internal */
export interface Guard {
  /** Names the model in errors, e.g. `anthropic/claude-3-5-haiku-latest`. */
  readonly provider: string
  readonly scrub: (text: string) => string
}

/** Fails with a classified error, in the `AiError` channel. @internal */
export const fail = (error: LmError.LmError, method: string): Effect.Effect<never, AiError.AiError> =>
  Effect.fail(LmError.toAiError(error, method))

/** Fails with the classification of an error object the server sent with a 200 or in a stream. @internal */
export const failInBand = (guard: Guard, method: string, error: unknown): Effect.Effect<never, AiError.AiError> =>
  Effect.flatMap(Clock.currentTimeMillis, (nowMillis) =>
    fail(LmError.fromReply({ provider: guard.provider, body: { error }, nowMillis, scrub: guard.scrub }), method))

/** An effect whose failures carry no secret. @internal */
export const scrubbed = <A, R>(guard: Guard, self: Effect.Effect<A, AiError.AiError, R>): Effect.Effect<A, AiError.AiError, R> =>
  Effect.mapError(self, (e) => LmError.scrubAiError(e, guard.scrub))

/**
 * A stream of protocol events that must end with an end event: `check` runs on every event and
 * may fail the call (an in-band error, a verdict on the finished reply); the stream stops after
 * the end event, and fails as a cut connection when the body ends before one.
 *
 * @internal
 */
export const requireEnd = <A, B extends A>(
  guard: Guard,
  self: Stream.Stream<A, AiError.AiError>,
  isEnd: (event: A) => boolean,
  check: (event: A) => Effect.Effect<B, AiError.AiError>,
  end: string
): Stream.Stream<B, AiError.AiError> =>
  Stream.suspend(() => {
    let ended = false
    return Stream.mapError(self, (e) => LmError.scrubAiError(e, guard.scrub)).pipe(
      Stream.mapEffect((event) => {
        if (isEnd(event)) ended = true
        return check(event)
      }),
      Stream.takeUntil(() => ended),
      Stream.concat(Stream.suspend(() =>
        ended ? Stream.empty : Stream.fromEffect(fail(
          new LmError.ConnectionReset({ provider: guard.provider, description: `the stream ended without ${end}` }),
          "streamText"
        ))
      ))
    )
  })

/**
 * Adds the configured headers, the call's `RequestOptions` headers and the base URL's query
 * parameters (see `endpoint`) to every request. @internal
 */
export const withHeaders = (
  headers: Readonly<Record<string, string>>,
  urlParams: Readonly<Record<string, string>> = {}
) =>
(client: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.mapRequestEffect(client, (request) =>
    Effect.map(RequestOptions, (extras) =>
      HttpClientRequest.appendUrlParams(HttpClientRequest.setHeaders(request, { ...headers, ...extras.headers }), urlParams)))
