/**
 * An `HttpClient` wrapper that keeps secrets out of failures at their source.
 *
 * Provider libraries wrap HTTP failures in `AiError`s inside their own spans, so a
 * server that echoes the API key in an error body (OpenAI does, partly) or a
 * transport error that quotes a header would put the key in a span's exception
 * event before any outer layer could scrub it. Here every non-2xx response fails
 * as a `ResponseError` (status, headers and a scrubbed body), and every transport
 * error is rebuilt with a scrubbed description: the same shape for every provider,
 * so one classifier reads them all.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import { scrub } from "../LmError.js"

const describe = (cause: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    const c = current as { readonly message?: unknown; readonly code?: unknown; readonly cause?: unknown }
    if (typeof c.code === "string") parts.push(c.code)
    if (typeof c.message === "string" && c.message !== "") parts.push(c.message)
    current = c.cause
  }
  return parts.join(": ")
}

/** @internal */
export const secure = (secrets: ReadonlyArray<Redacted.Redacted>) => (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  // Around the response only (not `transform`, which runs the wrapped client's request steps
  // outside its own settings, such as `HttpClient.withTracerPropagation`); the request is the
  // response's or the error's.
  HttpClient.transformResponse(client, (effect) =>
    // One handler for both outcomes (a `catchTag` then a `flatMap` would be two frames
    // on every request).
    Effect.matchEffect(effect, {
      onFailure: (error): Effect.Effect<never, HttpClientError.HttpClientError> => {
        if (error._tag !== "RequestError") return Effect.fail(error)
        const text = scrub([error.description, describe(error.cause)].filter((s) => s !== undefined && s !== "").join(": "), secrets)
        return Effect.fail(
          new HttpClientError.RequestError({
            request: error.request,
            reason: error.reason,
            ...(text === "" ? {} : { description: text })
          })
        )
      },
      onSuccess: (response): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
        if (response.status >= 200 && response.status < 300) return Effect.succeed(response)
        const request = response.request
        return Effect.flatMap(Effect.orElseSucceed(response.text, () => ""), (body) => {
          const headers = new globalThis.Headers()
          for (const [name, value] of Object.entries(response.headers)) {
            // the body changed: its length and encoding no longer apply
            if (name !== "content-length" && name !== "content-encoding") headers.set(name, value)
          }
          const scrubbed = HttpClientResponse.fromWeb(
            request,
            new Response(scrub(body, secrets), { status: response.status, headers })
          )
          return Effect.fail(
            new HttpClientError.ResponseError({
              request,
              response: scrubbed,
              reason: "StatusCode",
              description: "non 2xx status code"
            })
          )
        })
      }
    }))
