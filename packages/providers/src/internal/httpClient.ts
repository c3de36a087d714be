/**
 * The HTTP client used when the caller does not bring one.
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const isNode = typeof process !== "undefined" && typeof process.versions === "object" && process.versions.node !== undefined

/**
 * On Node, undici's dispatcher directly (measured: about half the client CPU per call
 * of `fetch`, which is undici behind a WHATWG layer), with a lean response (see
 * `undiciClient.ts`); elsewhere `fetch`. Loaded lazily so that a browser bundle never
 * needs the Node modules.
 *
 * @internal
 */
export const defaultHttpClient: Layer.Layer<HttpClient.HttpClient> = isNode
  ? Layer.unwrapEffect(
    Effect.tryPromise(() => import("./undiciClient")).pipe(
      Effect.map((module): Layer.Layer<HttpClient.HttpClient> => module.layer),
      Effect.orElseSucceed(() => FetchHttpClient.layer)
    )
  )
  : FetchHttpClient.layer
