/**
 * The HTTP client used when the caller does not bring one.
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const isNode = typeof process !== "undefined" && typeof process.versions === "object" && process.versions.node !== undefined

// The clients `defaultHttpClient` built. Keyed by the client object itself (a wrapper is another
// object): an association, not configuration.
const defaults = new WeakSet<HttpClient.HttpClient>()

/**
 * Whether `client` is one `defaultHttpClient` or `nodeHttpClient` built, and so known to end a
 * pending body read when its request is aborted (undici, our `node:http` client and `fetch` do). A client brought by the caller may ignore the
 * abort (a test double, a proxy, a custom agent), so nothing that must end a wait relies on it.
 *
 * @internal
 */
export const honoursAbort = (client: HttpClient.HttpClient): boolean => defaults.has(client)

/**
 * On Node, undici's dispatcher directly (measured: about half the client CPU per call
 * of `fetch`, which is undici behind a WHATWG layer), with a lean response (see
 * `undiciClient.ts`); elsewhere `fetch`. Loaded lazily so that a browser bundle never
 * needs the Node modules.
 *
 * @internal
 */
export const defaultHttpClient: Layer.Layer<HttpClient.HttpClient> = Layer.tap(
  isNode
    ? Layer.unwrapEffect(
      Effect.tryPromise(() => import("./undiciClient.js")).pipe(
        Effect.map((module): Layer.Layer<HttpClient.HttpClient> => module.layer),
        Effect.orElseSucceed(() => FetchHttpClient.layer)
      )
    )
    : FetchHttpClient.layer,
  (context) => Effect.sync(() => defaults.add(Context.get(context, HttpClient.HttpClient)))
)

/**
 * The lean `node:http` client (`nodeHttpClient.ts`), for a caller who picks it: it writes a request
 * on a reused connection at once, where undici defers it to a `setImmediate`, so many concurrent
 * calls that come back together do not stay bunched round after round
 * (`packages/batch/bench/bunching.ts`). It costs more client CPU per prediction at high
 * concurrency than the undici default (measured 10-50% per prediction at concurrency 64), hence not the default.
 *
 * @internal
 */
export const nodeHttpClient: Layer.Layer<HttpClient.HttpClient> = Layer.tap(
  Layer.unwrapEffect(
    Effect.map(
      // a misuse, not a condition to handle: said plainly rather than as a failed import
      Effect.orDieWith(
        Effect.tryPromise(() => import("./nodeHttpClient.js")),
        (cause) => new Error("Lm.nodeHttpClientLayer needs Node (node:http); use Lm.httpClientLayer elsewhere", { cause })
      ),
      (module): Layer.Layer<HttpClient.HttpClient> => module.layer
    )
  ),
  (context) => Effect.sync(() => defaults.add(Context.get(context, HttpClient.HttpClient)))
)
