/**
 * A loopback HTTP server speaking OpenAI `POST /v1/chat/completions`,
 * OpenAI `POST /v1/responses` and Anthropic `POST /v1/messages` (streaming
 * and not), with the simulator's latency, faults, limits and counters.
 * Counters are also served at `GET /_sim/counters` and reset by `POST /_sim/reset`.
 *
 * @example
 * ```ts
 * import { SimulatorServer } from "@effect-dspy/simulator"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function* () {
 *   const server = yield* SimulatorServer.SimulatorServer
 *   // point an OpenAI client at `${server.url}/v1`
 *   return server.url
 * }).pipe(Effect.provide(SimulatorServer.layer({ port: 0 })))
 * ```
 *
 * @since 0.1.0
 */
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as SimulatorConfig from "./SimulatorConfig.js"
import { Engine } from "./internal/engine.js"
import { apiRoutes, router } from "./internal/server.js"
import { makePoller } from "./internal/sleepUntil.js"

/**
 * The server's counters, as served at `GET /_sim/counters`.
 *
 * @since 0.1.0
 */
export const Counters = Schema.Struct({
  /** Requests received on the API routes (answered or not). */
  requests: Schema.Number,
  /** Requests being answered now. */
  inFlight: Schema.Number,
  /** Most requests answered at once since the last reset. */
  maxInFlight: Schema.Number,
  /** 429s: injected, or beyond `maxConcurrent` / `requestsPerMinute`. */
  rateLimited: Schema.Number,
  /** Injected 500s and 503s. */
  serverErrors: Schema.Number,
  /** Connections destroyed before an answer. */
  resets: Schema.Number,
  /** Requests whose client went away before the answer finished. */
  abortedByClient: Schema.Number,
  /** Answers delivered in full. */
  completed: Schema.Number,
  /** Streams cut short on purpose (the `truncate` fault). */
  truncated: Schema.Number,
  /** Answers broken on purpose (the `malformed` fault). */
  malformed: Schema.Number,
  /** Requests rejected with 400. */
  badRequests: Schema.Number,
  /** Requests rejected with 401. */
  unauthorized: Schema.Number,
  /** Requests per route path. */
  byRoute: Schema.Record({ key: Schema.String, value: Schema.Number })
})

/**
 * The server's counters.
 *
 * @since 0.1.0
 */
export type Counters = typeof Counters.Type

/**
 * Options of the server: the simulator's options plus `port` (0 = ephemeral) and `host` (default 127.0.0.1).
 *
 * @since 0.1.0
 */
export type Options = SimulatorConfig.ServerOptions

/**
 * A running simulator server.
 *
 * @since 0.1.0
 */
export interface Service {
  /** Base URL without trailing slash and without `/v1`, e.g. `http://127.0.0.1:8787`. */
  readonly url: string
  readonly counters: Effect.Effect<Counters>
  readonly reset: Effect.Effect<void>
}

/**
 * The running simulator server.
 *
 * @since 0.1.0
 */
export class SimulatorServer extends Context.Tag("@effect-dspy/simulator/SimulatorServer")<SimulatorServer, Service>() {}

/** The path of a request URL, without its query. */
const pathOf = (url: string | undefined): string => {
  if (url === undefined) return "/"
  const query = url.indexOf("?")
  return query === -1 ? url : url.slice(0, query)
}

const formatUrl = (address: HttpServer.Address, fallbackHost: string): string => {
  if (address._tag === "UnixAddress") return `http://unix:${address.path}`
  const host = address.hostname === "0.0.0.0" || address.hostname === "::" ? fallbackHost : address.hostname
  return `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`
}

/**
 * Starts a server in the current scope; it stops when the scope closes.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<Service, ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    if (options.timing !== undefined && options.timing !== "poll" && options.timing !== "worker") {
      return yield* Effect.dieMessage(`SimulatorServer: timing must be "poll" or "worker", got ${String(options.timing)}`)
    }
    const engine = new Engine(SimulatorConfig.resolve(options))
    const host = options.host ?? "127.0.0.1"
    let nodeServer: Http.Server | undefined
    const server = yield* NodeHttpServer.make(
      () => (nodeServer = Http.createServer({ keepAlive: true, noDelay: true, requestTimeout: 0 })),
      { port: options.port ?? 0, host, backlog: 4096 }
    )
    // close open connections (idle keep-alives, streams) so shutdown never waits on clients
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer?.closeAllConnections()))
    const clock = yield* Effect.clock
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    // replies due soon, written by the poller or between two pieces of the server's work
    const poller = makePoller(clock, { waker: options.timing === "worker" })
    yield* Effect.addFinalizer(() => Effect.sync(() => poller.close()))
    const api = apiRoutes(engine, poller)
    const app = yield* HttpRouter.toHttpApp(router(engine))
    // no server spans: they would join the traces of a client in the same process
    const handle = yield* NodeHttpServer.makeHandler(app).pipe(
      HttpMiddleware.withTracerDisabledWhenEffect(() => true),
      IncomingMessage.withMaxBodySize(Option.some(10 * 1024 * 1024))
    )
    // One fiber per API request; a client that goes away before the reply is written out
    // interrupts it (as the platform's handler does), which releases its admission.
    const serveApi = (request: Http.IncomingMessage, response: Http.ServerResponse, arrivalNanos: bigint) => {
      poller.flush()
      const serve = api.get(pathOf(request.url))
      if (serve === undefined) return handle(request, response)
      const fiber = runFork(serve(request, response, arrivalNanos))
      response.on("close", () => {
        if (!response.writableFinished) fiber.unsafeInterruptAsFork(FiberId.none)
      })
    }
    // A request's arrival is stamped the moment Node has read its headers, and it is handled
    // only after the I/O callbacks of that event-loop turn: so requests that came in together
    // are all stamped before any of them is handled (the work on each would otherwise start
    // the latency of each one read after it that much late), and a request's latency covers
    // all of the work on it, as a real provider's covers its own.
    const onRequest = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
      if (request.method === "POST") setImmediate(serveApi, request, response, clock.unsafeCurrentTimeNanos())
      else setImmediate(handle, request, response)
      poller.flush()
    }
    nodeServer?.on("request", onRequest)
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer?.off("request", onRequest)))
    return {
      url: formatUrl(server.address, host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host),
      counters: Effect.sync(() => engine.counters()),
      reset: Effect.sync(() => engine.reset())
    }
  })

/**
 * A scoped layer running the server.
 *
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<SimulatorServer, ServeError> =>
  Layer.scoped(SimulatorServer, make(options))
