/**
 * The HTTP client the models of `Lm.layer` call through: the platform's client without its own
 * span per request. The model call already has its span (core's generation span, with
 * `@effect/ai`'s `LanguageModel.*` span folded into it), which is the one users read; the
 * platform's `http.client` span under it cost 30–60 µs of client CPU per call (its request and
 * response headers copied into attributes one by one; `provider-overhead.ts` in the bench prices
 * it). What that span gave is kept, cheaply: the outgoing `traceparent` header names the current
 * span, and the current span gets `server.address` / `server.port`.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

interface Server {
  readonly url: string
  readonly address: string
  readonly port: number
}

const serverOf = (url: string): Server | undefined => {
  try {
    const parsed = new URL(url)
    const port = parsed.port === "" ? (parsed.protocol === "https:" ? 443 : 80) : Number(parsed.port)
    return { url, address: parsed.hostname, port }
  } catch {
    return undefined
  }
}

/** @internal */
export const withoutRequestSpans = (client: HttpClient.HttpClient): HttpClient.HttpClient => {
  // A model calls one URL (two at most): remember the last one parsed.
  let last: Server | undefined
  return client.pipe(
    HttpClient.mapRequestEffect((request) =>
      Effect.map(Effect.serviceOption(Tracer.ParentSpan), (parent) => {
        if (Option.isNone(parent) || parent.value._tag !== "Span") return request
        const span = parent.value
        const server = last !== undefined && last.url === request.url ? last : (last = serverOf(request.url))
        if (server !== undefined) {
          span.attribute("server.address", server.address)
          span.attribute("server.port", server.port)
        }
        return HttpClientRequest.setHeader(request, "traceparent", `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`)
      })
    ),
    HttpClient.withTracerDisabledWhen(() => true)
  )
}
