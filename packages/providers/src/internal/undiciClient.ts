/**
 * The default Node `HttpClient`: `@effect/platform`'s `HttpClient.make` (URL check, abort on
 * interruption, client spans and trace propagation when a tracer records) over undici's
 * dispatcher, as `NodeHttpClient.layerUndici` builds it, with a leaner response.
 *
 * Why not `layerUndici` as it is: its response reads the body through `Effect.cached` run
 * with `Effect.runSync` (a fiber, a synchronized ref with a semaphore, a deferred and a
 * fiber-refs diff and patch per read), and its layer merges the layer's context into every
 * request's (a context copy and a context swap per request). Measured over a chat-completions
 * call, that was a third of the Effect operations of a whole prediction. Here the body's
 * promise is memoized (read once, the same text on every read, as the cached effect gave),
 * and the dispatcher is captured once.
 *
 * @internal
 */
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import type * as UrlParams from "@effect/platform/UrlParams"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeStream from "@effect/platform-node/NodeStream"
import type * as Undici from "@effect/platform-node/Undici"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import * as TextBody from "./textBody.js"

type Source = Undici.Dispatcher.ResponseData
type Body = NonNullable<Undici.Dispatcher.DispatchOptions["body"]> | null

const noopErrorHandler = (_: unknown): void => {}

class UndiciResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  private cachedCookies: Cookies.Cookies | undefined
  private textPromise: Promise<string> | undefined
  private textEffect: Effect.Effect<string, HttpClientError.ResponseError> | undefined
  private arrayBufferPromise: Promise<ArrayBuffer> | undefined
  private formDataPromise: Promise<FormData> | undefined

  constructor(readonly request: HttpClientRequest.HttpClientRequest, readonly source: Source) {
    super()
    // As undici's own adapter: a body error with no reader must not crash the process.
    source.body.on("error", noopErrorHandler)
  }

  get status(): number {
    return this.source.statusCode
  }

  get cookies(): Cookies.Cookies {
    if (this.cachedCookies !== undefined) return this.cachedCookies
    const header = this.source.headers["set-cookie"]
    return this.cachedCookies = header === undefined
      ? Cookies.empty
      : Cookies.fromSetCookie(Array.isArray(header) ? header : [header])
  }

  get headers(): Headers.Headers {
    return Headers.fromInput(this.source.headers as Record<string, string | ReadonlyArray<string> | undefined>)
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  private decodeError(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return NodeStream.fromReadable(() => this.source.body, (cause) => this.decodeError(cause))
  }

  // Read once: every read of `text` (and `json`) gets the same text or the same failure.
  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return this.textEffect ??= Effect.tryPromise({
      try: () => this.textPromise ??= this.source.body.text(),
      catch: (cause) => this.decodeError(cause)
    })
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return TextBody.json(this.text, (cause) => this.decodeError(cause))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return TextBody.urlParams(this.text, (cause) => this.decodeError(cause))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.tryPromise({
      try: () => this.arrayBufferPromise ??= this.source.body.arrayBuffer(),
      catch: (cause) => this.decodeError(cause)
    })
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.tryPromise({
      // undici's FormData is the global one on Node.
      try: () => this.formDataPromise ??= this.source.body.formData() as Promise<FormData>,
      catch: (cause) => this.decodeError(cause)
    })
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

const convertBody = (body: HttpBody.HttpBody): Effect.Effect<Body> => {
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(null)
    case "Uint8Array":
    case "Raw":
      return Effect.succeed(body.body as Body)
    case "FormData":
      return Effect.succeed(body.formData as Body)
    case "Stream":
      return NodeStream.toReadable(body.stream)
  }
}

/**
 * An `HttpClient` over an undici dispatcher; `layerOptions` are the `UndiciRequestOptions` in
 * force where the layer was built (a request's own context overrides them).
 *
 * @internal
 */
export const make = (
  dispatcher: Undici.Dispatcher,
  layerOptions: Undici.Dispatcher.RequestOptions<null> | undefined
): HttpClient.HttpClient =>
  HttpClient.make((request, url, signal, fiber) => {
    const options: Partial<Undici.Dispatcher.RequestOptions<null>> =
      fiber.currentContext.unsafeMap.get(NodeHttpClient.UndiciRequestOptions.key) ?? layerOptions ?? {}
    // The response is made in the promise's callback (not by an `Effect.map` after it).
    const send = (body: Body): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError> =>
      Effect.tryPromise({
        try: () =>
          dispatcher.request({
            ...options,
            signal,
            method: request.method,
            headers: request.headers,
            origin: url.origin,
            path: url.pathname + url.search + url.hash,
            body,
            // leave timeouts to Effect.timeout etc
            headersTimeout: 60 * 60 * 1000,
            bodyTimeout: 0
          }).then((source): HttpClientResponse.HttpClientResponse => new UndiciResponse(request, source)),
        catch: (cause) => new HttpClientError.RequestError({ request, reason: "Transport", cause })
      })
    const body = request.body
    // The common bodies need no effect to convert.
    return body._tag === "Raw" || body._tag === "Uint8Array"
      ? send(body.body as Body)
      : body._tag === "Empty"
      ? send(null)
      : Effect.flatMap(convertBody(body), send)
  })

/**
 * The client layer, with its own undici agent (closed with the layer).
 *
 * @internal
 */
export const layer: Layer.Layer<HttpClient.HttpClient> = Layer.scoped(
  HttpClient.HttpClient,
  Effect.flatMap(NodeHttpClient.makeDispatcher, (dispatcher) =>
    Effect.map(
      Effect.context<never>(),
      (context) => make(dispatcher, Option.getOrUndefined(Context.getOption(context, NodeHttpClient.UndiciRequestOptions)))
    ))
)
