/**
 * A lean Node `HttpClient` over `node:http` / `node:https`: `@effect/platform`'s `HttpClient.make`
 * (URL check, abort on interruption, client spans and trace propagation when a tracer records),
 * as `undiciClient.ts`, over keep-alive agents.
 *
 * Why not undici: on a reused keep-alive connection undici 6 and 7 write a request only from a
 * `setImmediate` (their idle-socket check, GHSA-35p6-xmwp-9g52; no option turns it off), so when
 * several replies arrive in one event-loop turn every next request waits for all of them to be
 * handled, and concurrent calls stay bunched round after round (`packages/batch/bench/bunching.ts`).
 * `node:http` writes a request at once. This client is the opt-in `Lm.nodeHttpClientLayer`, not the
 * default: per whole prediction it costs more CPU than the undici client at high concurrency
 * (10-50% at concurrency 64: `HTTP_CLIENT=lean pnpm exec tsx packages/bench/src/predict-overhead.ts`
 * against the same without it; a single `ChatCompletions` call in `providers/bench/chat-overhead.ts`
 * is within noise of undici). Why not platform's `NodeHttpClient`: it costs much more CPU per call
 * (a body sent and a response awaited as two concurrent effects, a stream-based, `Effect.cached`
 * body read, the layer's context merged into every request). Here a request is one
 * `Effect.async` with its head given to `node:http` as a flat array (no `setHeader` per header),
 * its listeners are module functions, and a body is read once into `Buffer`s and decoded once,
 * memoized.
 *
 * Request bodies: bytes, strings and empty at once; `Stream` and `FormData` as platform's
 * `NodeHttpClient` sends them (piped, chunked). No proxy support (undici's default dispatcher
 * has none either); no `MaxBodySize` (as the undici client).
 *
 * @internal
 */
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import type * as UrlParams from "@effect/platform/UrlParams"
import * as NodeSink from "@effect/platform-node/NodeSink"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import * as Https from "node:https"
import type * as Net from "node:net"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import * as Tls from "node:tls"
import * as TextBody from "./textBody.js"

/**
 * The connection pools of one client: one per scheme.
 *
 * @internal
 */
export interface Agents {
  readonly http: Http.Agent
  readonly https: Https.Agent
}

type Resume = (
  effect: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>
) => void

// The settled body: its bytes or why it could not be read.
type BodyResult = { readonly _tag: "Bytes"; readonly bytes: Buffer } | { readonly _tag: "Failure"; readonly cause: unknown }

const aborted = (): Error => Object.assign(new Error("The response body ended before it was complete (aborted)"), { code: "ECONNRESET" })

// The listeners are module functions that find their owner on the emitter (`this`), not closures
// made for every request.
const kResponse = Symbol.for("effect-dspy/nodeHttpClient/response")
const kExchange = Symbol.for("effect-dspy/nodeHttpClient/exchange")
type Source = Http.IncomingMessage & { [kResponse]: NodeResponse }
type Outgoing = Http.ClientRequest & { [kExchange]: Exchange }

function onBodyData(this: Source, chunk: Buffer): void {
  this[kResponse].chunks.push(chunk)
}
function onBodyEnd(this: Source): void {
  const response = this[kResponse]
  const chunks = response.chunks
  response.settle({ _tag: "Bytes", bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) })
}
function onBodyError(this: Source, cause: unknown): void {
  this[kResponse].settle({ _tag: "Failure", cause })
}
// An abort of the request first drops the message's `data` listeners, then destroys it.
function onBodyClose(this: Source): void {
  const response = this[kResponse]
  if (response.body === undefined) response.settle({ _tag: "Failure", cause: aborted() })
}

class NodeResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  private readonly socket: Net.Socket | null
  private cachedCookies: Cookies.Cookies | undefined = undefined
  /** The body's chunks while it is read whole. */
  readonly chunks: Array<Buffer> = []
  body: BodyResult | undefined = undefined
  private waiters: Array<(result: BodyResult) => void> | undefined = undefined
  private textEffect: Effect.Effect<string, HttpClientError.ResponseError> | undefined = undefined
  /** Read as a stream: the message is spent, a whole-body read after it fails instead of waiting. */
  private streamed = false
  private formDataPromise: Promise<FormData> | undefined = undefined

  constructor(readonly request: HttpClientRequest.HttpClientRequest, readonly source: Http.IncomingMessage) {
    super()
    // Detached from the message once the body ended and the socket went back to the pool.
    this.socket = source.socket
  }

  get status(): number {
    return this.source.statusCode ?? 0
  }

  get cookies(): Cookies.Cookies {
    if (this.cachedCookies !== undefined) return this.cachedCookies
    const header = this.source.headers["set-cookie"]
    return this.cachedCookies = header === undefined ? Cookies.empty : Cookies.fromSetCookie(header)
  }

  get headers(): Headers.Headers {
    return Headers.fromInput(this.source.headers as Record<string, string | ReadonlyArray<string> | undefined>)
  }

  get remoteAddress(): Option.Option<string> {
    return Option.fromNullable(this.socket?.remoteAddress)
  }

  private decodeError(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    if (this.waiters !== undefined || this.body !== undefined) {
      // Read whole already (or being read): the same bytes, not a second read of a spent message.
      return Stream.flatMap(this.bytes, (bytes) => Stream.succeed(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)))
    }
    this.streamed = true
    return NodeStream.fromReadable(() => this.source, (cause) => this.decodeError(cause))
  }

  /** Settles every read of the whole body with the same result. */
  settle(result: BodyResult): void {
    if (this.body !== undefined) return
    this.body = result
    this.chunks.length = 0
    const waiters = this.waiters!
    this.waiters = undefined
    for (let i = 0; i < waiters.length; i++) waiters[i]!(result)
  }

  // The whole body, read once: as Buffers, joined and decoded once.
  private get bytes(): Effect.Effect<Buffer, HttpClientError.ResponseError> {
    return Effect.async<Buffer, HttpClientError.ResponseError>((resume) => {
      const done = (result: BodyResult) =>
        resume(result._tag === "Bytes" ? Effect.succeed(result.bytes) : Effect.fail(this.decodeError(result.cause)))
      if (this.body !== undefined) return done(this.body)
      if (this.waiters !== undefined) {
        this.waiters.push(done)
        return
      }
      if (this.streamed) return resume(Effect.fail(this.decodeError(new Error("The response body was already read as a stream"))))
      this.waiters = [done]
      const source = this.source as Source
      source[kResponse] = this
      source.on("data", onBodyData)
      source.on("end", onBodyEnd)
      source.on("error", onBodyError)
      source.on("close", onBodyClose)
    })
  }

  // Read once: every read of `text` (and `json`) gets the same text or the same failure.
  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return this.textEffect ??= Effect.map(this.bytes, (bytes) => {
      // a UTF-8 byte order mark is not text (undici and `TextDecoder` drop it too)
      const text = bytes.toString("utf8", bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0)
      this.textEffect = Effect.succeed(text)
      return text
    })
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return TextBody.json(this.text, (cause) => this.decodeError(cause))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return TextBody.urlParams(this.text, (cause) => this.decodeError(cause))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.map(this.bytes, (bytes) => {
      const copy = new ArrayBuffer(bytes.length)
      new Uint8Array(copy).set(bytes)
      return copy
    })
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.flatMap(this.bytes, (bytes) =>
      Effect.tryPromise({
        try: () =>
          this.formDataPromise ??= new Response(new Uint8Array(bytes), {
            headers: new globalThis.Headers(this.headers),
            status: this.status
          }).formData(),
        catch: (cause) => this.decodeError(cause)
      }))
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

function onResponse(this: Outgoing, source: Http.IncomingMessage): void {
  const exchange = this[kExchange]
  exchange.settle(Effect.succeed(new NodeResponse(exchange.request, source)))
}
function onRequestError(this: Outgoing, cause: unknown): void {
  const exchange = this[kExchange]
  exchange.settle(Effect.fail(new HttpClientError.RequestError({ request: exchange.request, reason: "Transport", cause })))
}
// A request can close with neither a response nor an error (a 101 or CONNECT reply nobody
// upgrades): it must not leave its caller waiting. After a response this does nothing.
function onRequestClose(this: Outgoing): void {
  onRequestError.call(this, new Error("The connection closed before a response"))
}

/** As undici's default: a connection not established by then fails the request. */
const CONNECT_TIMEOUT_MILLIS = 10_000

// Only for a new connection (a reused one is connected already): Node's agent has no connect
// timeout of its own, and without one an unreachable host waits for the system's (minutes).
function onSocket(this: Outgoing, socket: Net.Socket): void {
  if (!socket.connecting) return
  const timer = setTimeout(destroyOnConnectTimeout, CONNECT_TIMEOUT_MILLIS, this)
  const clear = () => clearTimeout(timer)
  // for https the handshake too, as undici's connect timeout
  socket.once(socket instanceof Tls.TLSSocket ? "secureConnect" : "connect", clear)
  socket.once("close", clear)
}
function destroyOnConnectTimeout(req: Outgoing): void {
  req.destroy(
    Object.assign(new Error(`Connecting timed out after ${CONNECT_TIMEOUT_MILLIS / 1000} s`), { code: "UND_ERR_CONNECT_TIMEOUT" })
  )
}

// One request on the wire: settles the caller with the response or the error before it, and
// destroys the request when the signal aborts (interruption, the request's scope closing, or
// platform's abort of a response nobody reads any more): it is the signal's listener object.
class Exchange {
  private settled = false
  // Held only until it is handed over: platform's registry keeps this exchange (the signal's
  // listener) alive until the response is collected, so it must not keep the response.
  private result: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError> | undefined =
    undefined
  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly req: Http.ClientRequest,
    private resume: Resume | undefined
  ) {
    ;(req as Outgoing)[kExchange] = this
    // Kept for the request's life: a socket error after the response must not go unhandled.
    req.on("error", onRequestError)
    req.once("response", onResponse)
    req.once("close", onRequestClose)
    req.once("socket", onSocket)
  }

  settle(effect: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>): void {
    if (this.settled) return
    this.settled = true
    const resume = this.resume
    if (resume === undefined) {
      this.result = effect
      return
    }
    this.resume = undefined
    resume(effect)
  }

  handleEvent(): void {
    this.req.destroy()
  }

  cancel(): Effect.Effect<void> {
    return Effect.sync(() => {
      this.resume = undefined
      this.req.destroy()
    })
  }

  /** Waits for the response (for a request whose body is sent by another effect). */
  await(): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError> {
    return Effect.async((resume) => {
      const result = this.result
      if (result !== undefined) {
        this.result = undefined
        return resume(result)
      }
      this.resume = resume
      return this.cancel()
    })
  }
}

const once = { once: true } as const

// Methods for which `node:http` sends a body, chunked, unless told its length.
const chunkedByDefault = (method: string): boolean =>
  method !== "GET" && method !== "HEAD" && method !== "DELETE" && method !== "OPTIONS" && method !== "TRACE" &&
  method !== "CONNECT"

/** Credentials in the URL as a Basic `authorization` value, as `node:http` sends them (throws `URIError` on bad escapes). */
const urlCredentials = (url: URL): string | undefined =>
  url.username === ""
    ? undefined
    : `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`

/**
 * The request's headers as `node:http`'s flat array (name, value, …), with `host` and, for a
 * body at hand, `content-length`: given so, the request head is written as it is instead of
 * header by header through `setHeader`.
 */
const headerArray = (request: HttpClientRequest.HttpClientRequest, url: URL, body: string | Uint8Array | undefined) => {
  const headers = request.headers
  const array: Array<string> = []
  for (const name in headers) array.push(name, headers[name]!)
  if (headers["host"] === undefined) array.push("host", url.host)
  const auth = headers["authorization"] === undefined ? urlCredentials(url) : undefined
  if (auth !== undefined) array.push("authorization", auth)
  if (headers["content-length"] === undefined && headers["transfer-encoding"] === undefined) {
    if (body !== undefined) {
      array.push("content-length", String(typeof body === "string" ? Buffer.byteLength(body) : body.length))
    } else if (chunkedByDefault(request.method)) {
      array.push("content-length", "0")
    }
  }
  return array
}

const requestOptions = (
  agent: Http.Agent,
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  headers: Http.OutgoingHttpHeaders | ReadonlyArray<string>
): Http.RequestOptions => {
  const hostname = url.hostname
  // As few keys as will do: the agent copies them for every request.
  return {
    agent,
    // `URL` keeps an IPv6 host in brackets; `node:http` wants it bare.
    hostname: hostname.charCodeAt(0) === 91 ? hostname.slice(1, -1) : hostname,
    port: url.port,
    path: url.pathname + url.search,
    method: request.method,
    headers: headers as Http.OutgoingHttpHeaders
  }
}

const encodeError = (request: HttpClientRequest.HttpClientRequest, cause: unknown) =>
  new HttpClientError.RequestError({ request, reason: "Encode", cause })

// Opens a request, or fails with `Encode` on what `node:http` refuses before anything is sent
// (an invalid header name or value).
const open = (
  agents: Agents,
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  signal: AbortSignal,
  headers: Http.OutgoingHttpHeaders | ReadonlyArray<string>,
  resume: Resume | undefined
): Exchange | HttpClientError.RequestError => {
  if (signal.aborted) return new HttpClientError.RequestError({ request, reason: "Transport", cause: signal.reason })
  let req: Http.ClientRequest
  try {
    req = url.protocol === "https:"
      ? Https.request(requestOptions(agents.https, request, url, headers))
      : Http.request(requestOptions(agents.http, request, url, headers))
  } catch (cause) {
    return encodeError(request, cause)
  }
  const exchange = new Exchange(request, req, resume)
  signal.addEventListener("abort", exchange, once)
  return exchange
}

// A request whose body is at hand (bytes, a string or nothing): one `Effect.async`.
const send = (
  agents: Agents,
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  signal: AbortSignal,
  body: string | Uint8Array | undefined
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError> =>
  Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>((resume) => {
    let headers: ReadonlyArray<string>
    try {
      headers = headerArray(request, url, body)
    } catch (cause) {
      return resume(Effect.fail(encodeError(request, cause)))
    }
    const exchange = open(agents, request, url, signal, headers, resume)
    if (exchange instanceof HttpClientError.RequestError) return resume(Effect.fail(exchange))
    if (body === undefined) exchange.req.end()
    else exchange.req.end(body)
    return exchange.cancel()
  })

// The body kinds that need an effect to send, sent as platform's `NodeHttpClient` sends them,
// while the response is awaited.
const sendStreamed = (
  agents: Agents,
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  signal: AbortSignal,
  body: HttpBody.FormData | HttpBody.Stream
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError> =>
  Effect.suspend(() => {
    let headers: Http.OutgoingHttpHeaders = request.headers
    let formBody: ReadableStream<Uint8Array> | null = null
    if (body._tag === "FormData") {
      // The multipart encoding and its boundary, from the platform's own encoder.
      const encoded = new Response(body.formData)
      headers = { ...request.headers }
      encoded.headers.forEach((value, key) => {
        headers[key] = value
      })
      formBody = encoded.body
    }
    if (headers["authorization"] === undefined) {
      let auth: string | undefined
      try {
        auth = urlCredentials(url)
      } catch (cause) {
        return Effect.fail(encodeError(request, cause))
      }
      if (auth !== undefined) headers = { ...headers, authorization: auth }
    }
    const exchange = open(agents, request, url, signal, headers, undefined)
    if (exchange instanceof HttpClientError.RequestError) return Effect.fail(exchange)
    const req = exchange.req
    const transport = (cause: unknown) => new HttpClientError.RequestError({ request, reason: "Transport", cause })
    const write: Effect.Effect<void, HttpClientError.RequestError> = body._tag === "FormData"
      ? Effect.tryPromise({
        try: () =>
          formBody === null
            ? new Promise<void>((resolve) => req.end(resolve))
            : pipeline(Readable.fromWeb(formBody as Parameters<typeof Readable.fromWeb>[0]), req),
        catch: transport
      })
      : Stream.run(
        Stream.mapError(body.stream, (cause) => encodeError(request, cause)),
        NodeSink.fromWritable(() => req, transport)
      )
    // A failed write destroys the request (the wait for its response is interrupted).
    return Effect.zipLeft(exchange.await(), write, { concurrent: true })
  })

const rawBodyError = (request: HttpClientRequest.HttpClientRequest, body: unknown) =>
  Effect.fail(encodeError(request, new TypeError(`A raw request body must be a string or bytes, got ${typeof body}`)))

/**
 * An `HttpClient` over the given agents.
 *
 * @internal
 */
export const make = (agents: Agents): HttpClient.HttpClient =>
  HttpClient.make((request, url, signal) => {
    const body = request.body
    switch (body._tag) {
      case "Empty":
        return send(agents, request, url, signal, undefined)
      case "Uint8Array":
        return send(agents, request, url, signal, body.body)
      case "Raw": {
        const raw = body.body
        return typeof raw === "string" || raw instanceof Uint8Array
          ? send(agents, request, url, signal, raw)
          : rawBodyError(request, raw)
      }
      case "FormData":
      case "Stream":
        return sendStreamed(agents, request, url, signal, body)
    }
  })

/**
 * Keep-alive agents for the scope, destroyed (their sockets closed) when it closes.
 *
 * @internal
 */
export const makeAgents = Effect.acquireRelease(
  Effect.sync((): Agents => {
    // An idle pooled socket is closed after 4 s, as undici's default: a server closing its idle
    // connections (Node's after 5 s) then rarely races a request onto a socket it is closing.
    // Node's agent alone would keep it for ever (it reads the server's `Keep-Alive: timeout`
    // hint only to shorten a timeout of its own). A socket in use has no timeout.
    const options = { keepAlive: true, noDelay: true, timeout: 4000 }
    return { http: new Http.Agent(options), https: new Https.Agent(options) }
  }),
  (agents) =>
    Effect.sync(() => {
      agents.http.destroy()
      agents.https.destroy()
    })
)

/**
 * The client layer, with its own agents (destroyed with the layer).
 *
 * @internal
 */
export const layer: Layer.Layer<HttpClient.HttpClient> = Layer.scoped(HttpClient.HttpClient, Effect.map(makeAgents, make))
