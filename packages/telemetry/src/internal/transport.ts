/**
 * One OTLP/HTTP export request, sent with `@effect/platform`'s HttpClient and retried as the
 * OTLP specification says (the same rules as `@opentelemetry/otlp-exporter-base`'s retrying
 * transport): 429, 502, 503, 504 and network failures are retried, `Retry-After` is honoured,
 * otherwise exponential backoff from 1 s, x1.5, at most 5 s, +-20 % jitter, at most 5 retries,
 * and no retry that would land after the export's deadline.
 *
 * Why not the SDK's HTTP transport: its request and retry timer cannot be cancelled (and are
 * not exported to wrap), so an export in flight when a shutdown's budget ran out kept the
 * process alive until its own deadline. Here an export is an Effect: interrupting its fiber
 * aborts the request and the wait, and waits run on Effect's `Clock` (testable on `TestClock`).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as zlib from "node:zlib"

/** Where and how one destination's requests go. */
export interface Target {
  readonly url: string
  readonly headers: Readonly<Record<string, Redacted.Redacted<string>>>
  readonly contentType: "application/x-protobuf" | "application/json"
  readonly compression: "gzip" | "none"
  /** Deadline of one export, its retries included. */
  readonly timeout: Duration.Duration
}

/** How one export ended. */
export type Outcome =
  | { readonly _tag: "Accepted"; readonly body: Uint8Array }
  | { readonly _tag: "Failed"; readonly reason: string; readonly attempts: number }

/** The package's user agent, after the SDK exporter's (collectors recognise it). */
export const userAgent = "effect-dspy-telemetry/0.2.0 OTel-OTLP-Exporter-JavaScript/0.223.1"

const maxRetries = 5
const initialBackoffMillis = 1000
const maxBackoffMillis = 5000
const backoffMultiplier = 1.5
const jitter = 0.2

/** 429, 502, 503, 504: the statuses the OTLP specification retries. */
export const isRetryableStatus = (status: number): boolean =>
  status === 429 || status === 502 || status === 503 || status === 504

/** `Retry-After` in milliseconds: delta seconds or an HTTP date; `undefined` when absent or unreadable. */
export const parseRetryAfter = (value: string | undefined, nowMillis: number): number | undefined => {
  if (value === undefined || value.trim() === "") return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMillis)
}

type Attempt =
  | { readonly _tag: "Accepted"; readonly body: Uint8Array }
  | {
    readonly _tag: "Retry"
    readonly reason: string
    readonly after: number | undefined
    /** The connection was closed under the request (a kept-alive socket the collector had just closed). */
    readonly staleConnection?: boolean
  }
  | { readonly _tag: "Fail"; readonly reason: string }

// A reused keep-alive connection that the collector closed as the request went out fails with
// one of these before the collector read the request: worth one immediate retry on a fresh
// connection even while closing (otherwise a shutdown's last flush can lose every span in it).
const staleConnectionCodes = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"])

// Node's network errors carry their code on the error or a cause (`fetch failed` -> ECONNREFUSED).
const networkCode = (error: unknown): string | undefined => {
  for (let e: unknown = error, depth = 0; typeof e === "object" && e !== null && depth < 5; depth++) {
    const code: unknown = "code" in e ? e.code : undefined
    if (typeof code === "string") return code
    e = "cause" in e ? e.cause : undefined
  }
  return undefined
}

const describeRequestError = (error: HttpClientError.HttpClientError): string => {
  const code = networkCode(error.cause)
  return code === undefined ? error.reason : `${error.reason} error (${code})`
}

const gzip = (body: Uint8Array): Effect.Effect<Uint8Array, Error> =>
  Effect.async<Uint8Array, Error>((resume) => {
    zlib.gzip(body, (error, zipped) => resume(error === null ? Effect.succeed(zipped) : Effect.fail(error)))
  })

const maxResponseBytes = 4 * 1024 * 1024

/**
 * Sends one export request body to the target, with the retries the specification allows
 * (at most `retries`, default 5), within its deadline. Never fails: the outcome says how it ended. Runs with tracing off, so
 * the HTTP client's own span is not itself exported.
 */
export const send = (
  client: HttpClient.HttpClient,
  target: Target,
  body: Uint8Array,
  options: {
    readonly retries?: number | undefined
    /** Once done, no further retry is made (and a wait for one ends): the layer is closing. */
    readonly closing?: Deferred.Deferred<void> | undefined
  } = {}
): Effect.Effect<Outcome> => {
  const retries = options.retries ?? maxRetries
  const closing = options.closing
  const closed = closing === undefined ? Effect.succeed(false) : Deferred.isDone(closing)
  const headers: Record<string, string> = { "content-type": target.contentType, "user-agent": userAgent }
  for (const [key, value] of Object.entries(target.headers)) headers[key.toLowerCase()] = Redacted.value(value)
  if (target.compression === "gzip") headers["content-encoding"] = "gzip"
  const http = client.pipe(HttpClient.withTracerPropagation(false))

  const attempt = (payload: Uint8Array, remainingMillis: number): Effect.Effect<Attempt> =>
    http.execute(HttpClientRequest.post(target.url, { headers }).pipe(HttpClientRequest.bodyUint8Array(payload, target.contentType))).pipe(
      Effect.flatMap((response): Effect.Effect<Attempt> => {
        const status = response.status
        if (status >= 200 && status <= 299) {
          return response.arrayBuffer.pipe(
            Effect.map((buffer): Attempt => ({
              _tag: "Accepted",
              body: buffer.byteLength > maxResponseBytes ? new Uint8Array(0) : new Uint8Array(buffer)
            })),
            // The data arrived: an unreadable answer body does not make the export fail.
            Effect.orElseSucceed((): Attempt => ({ _tag: "Accepted", body: new Uint8Array(0) }))
          )
        }
        const reason = `HTTP ${status}`
        if (!isRetryableStatus(status)) return Effect.succeed({ _tag: "Fail", reason })
        return Effect.map(Clock.currentTimeMillis, (now): Attempt => ({
          _tag: "Retry",
          reason,
          after: parseRetryAfter(response.headers["retry-after"], now)
        }))
      }),
      Effect.catchAll((error) =>
        Effect.succeed<Attempt>(
          error._tag === "RequestError" && error.reason === "Transport"
            ? {
              _tag: "Retry",
              reason: describeRequestError(error),
              after: undefined,
              staleConnection: staleConnectionCodes.has(networkCode(error.cause) ?? "")
            }
            : { _tag: "Fail", reason: describeRequestError(error) }
        )
      ),
      Effect.scoped,
      Effect.timeoutTo({
        duration: Duration.millis(Math.max(1, remainingMillis)),
        onTimeout: (): Attempt => ({ _tag: "Retry", reason: "request timed out", after: undefined }),
        onSuccess: (a) => a
      })
    )

  return Effect.gen(function*(): Effect.fn.Return<Outcome> {
    const payload = target.compression === "gzip" ? yield* Effect.orDie(gzip(body)) : body
    const start = yield* Clock.currentTimeMillis
    const deadline = Duration.isFinite(target.timeout) ? start + Duration.toMillis(target.timeout) : Infinity
    let backoff = initialBackoffMillis
    let staleRetried = false
    for (let attempts = 1;; attempts++) {
      const now = yield* Clock.currentTimeMillis
      const result = yield* attempt(payload, deadline - now)
      if (result._tag === "Accepted") return result
      const failed: Outcome = { _tag: "Failed", reason: result.reason, attempts }
      if (result._tag === "Retry" && result.staleConnection === true && !staleRetried && attempts <= retries) {
        staleRetried = true
        continue // at once, closing or not: the next request takes a fresh connection
      }
      if (result._tag === "Fail" || attempts > retries || (yield* closed)) return failed
      const spread = 1 + ((yield* Random.next) * 2 * jitter - jitter)
      const delay = result.after ?? Math.min(backoff * spread, maxBackoffMillis)
      backoff *= backoffMultiplier
      if ((yield* Clock.currentTimeMillis) + delay > deadline) return failed
      if (delay > 0) {
        const wait = Effect.sleep(Duration.millis(delay))
        yield* closing === undefined ? wait : Effect.raceFirst(wait, Deferred.await(closing))
      }
      if (yield* closed) return failed
    }
  }).pipe(Effect.withTracerEnabled(false))
}
