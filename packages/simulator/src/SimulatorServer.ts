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
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as SimulatorConfig from "./SimulatorConfig.js"
import { Counters as EngineCounters } from "./internal/engine/Counters.js"
import { Engine } from "./internal/engine/Engine.js"
import { MAX_BODY_BYTES } from "./internal/http/apiRoute.js"
import * as Pacer from "./internal/http/pacer.js"
import { router } from "./internal/http/routes.js"

/**
 * The server's counters, as served at `GET /_sim/counters`.
 *
 * @since 0.1.0
 */
export const Counters: typeof EngineCounters = EngineCounters

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

const formatUrl = (address: HttpServer.Address, fallbackHost: string): string => {
  if (address._tag === "UnixAddress") return `http://unix:${address.path}`
  const host = address.hostname === "0.0.0.0" || address.hostname === "::" ? fallbackHost : address.hostname
  return `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`
}

/**
 * Starts a server in the current scope; it stops when the scope closes. Options out of their
 * range are a defect, a `SimulatorConfig.SimulatorConfigError` naming the option (see
 * `SimulatorConfig.resolve`).
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<Service, ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const engine = new Engine(yield* Effect.orDie(SimulatorConfig.resolve(options)))
    const host = options.host ?? "127.0.0.1"
    let nodeServer: Http.Server | undefined
    const server = yield* NodeHttpServer.make(
      () => (nodeServer = Http.createServer({ keepAlive: true, noDelay: true, requestTimeout: 0 })),
      { port: options.port ?? 0, host, backlog: 4096 }
    )
    // close open connections (idle keep-alives, streams) so that shutdown never waits on clients
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer?.closeAllConnections()))
    const app = yield* HttpRouter.toHttpApp(router(engine, yield* Pacer.make))
    // no server spans: they would join the traces of a client in the same process
    yield* server.serve(app).pipe(
      HttpMiddleware.withTracerDisabledWhenEffect(() => true),
      IncomingMessage.withMaxBodySize(Option.some(MAX_BODY_BYTES))
    )
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
