/**
 * The OTLP/HTTP transport under the SDK's export delegate (which keeps the serializer, the
 * bounded promise queue and the exporter metrics): POST with retries as the OTLP specification
 * says, i.e. the same rules as `@opentelemetry/otlp-exporter-base`'s retrying HTTP transport:
 *
 * - retried: 429, 502, 503, 504 and transient network errors (refused, reset, timed out, ...);
 *   `Retry-After` (seconds or an HTTP date) is honoured; otherwise exponential backoff from 1 s,
 *   x1.5, at most 5 s, +-20 % jitter; at most 5 retries; a retry that would land after the
 *   export's deadline is not made.
 *
 * Why not the SDK's transport: its retry timer and request cannot be cancelled (and that
 * transport is not exported to wrap), so an export in flight when the layer's shutdown times
 * out kept its own deadline (10 s by default) and its timer kept the process alive after
 * `runMain` returned. This one takes a deadline cap (exports during shutdown get the
 * shutdown budget, in-flight ones included) and `abandon()`, which clears the timers, destroys
 * the requests and sockets and fails what was in flight at once.
 */
import type { ExportResponse, IExporterTransport } from "@opentelemetry/otlp-exporter-base"
import * as http from "node:http"
import * as https from "node:https"
import * as zlib from "node:zlib"

/** A transport whose exports can be cut short. */
export interface AbandonableTransport extends IExporterTransport {
  /** From now on no export (or retry) runs past `deadline` (epoch ms). */
  readonly capDeadline: (deadline: number) => void
  /** Fails every export in flight now, and every later one, at once; frees timers and sockets. */
  readonly abandon: () => void
}

export interface TransportOptions {
  readonly url: string
  readonly headers: () => Record<string, string>
  readonly compression: "gzip" | "none"
  readonly userAgent: string
}

const maxAttempts = 5
const initialBackoff = 1000
const maxBackoff = 5000
const backoffMultiplier = 1.5
const jitter = 0.2
const maxResponseBody = 4 * 1024 * 1024

const retryableNetworkErrors = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "ENETUNREACH",
  "EHOSTUNREACH"
])

/** 429, 502, 503, 504: the statuses the OTLP specification retries. */
export const isRetryableStatus = (status: number): boolean => status === 429 || status === 502 || status === 503 || status === 504

/** `Retry-After` in ms: seconds or an HTTP date; `-1` for "now" as the SDK reads `0`. */
export const parseRetryAfter = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const seconds = Number.parseInt(value, 10)
  if (Number.isInteger(seconds)) return seconds > 0 ? seconds * 1000 : -1
  const delay = new Date(value).getTime() - Date.now()
  return delay >= 0 ? delay : 0
}

/** An HTTP error status, with the code the layer's log line shows. */
export class HttpExportError extends Error {
  constructor(readonly code: number, statusMessage: string | undefined, readonly data: string) {
    super(statusMessage ?? `HTTP ${code}`)
    this.name = "OTLPExporterError"
  }
}

const abandonedError = () => new Error("export abandoned: the telemetry layer's shutdown budget ran out")

export const make = (options: TransportOptions): AbandonableTransport => {
  const url = new URL(options.url)
  const secure = url.protocol === "https:"
  const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true })
  const request = secure ? https.request : http.request
  let cap = Infinity
  let abandoned = false
  // What `abandon` must stop: pending retry timers and live requests, each with its resolver.
  const live = new Set<() => void>()

  const post = (data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> =>
    new Promise((resolve) => {
      let settled = false
      const finish = (response: ExportResponse) => {
        if (settled) return
        settled = true
        live.delete(stop)
        resolve(response)
      }
      const headers = options.headers()
      headers["User-Agent"] = options.userAgent
      if (options.compression === "gzip") headers["Content-Encoding"] = "gzip"
      const req = request(url, { method: "POST", headers, agent }, (res) => {
        const chunks: Array<Buffer> = []
        let size = 0
        res.on("data", (chunk: Buffer) => {
          size += chunk.length
          if (size > maxResponseBody) {
            finish({ status: "failure", error: new Error(`OTLP export response body exceeded ${maxResponseBody} bytes`) })
            res.destroy()
            return
          }
          chunks.push(chunk)
        })
        const status = res.statusCode ?? 0
        const onDone = (error: Error | undefined) => {
          if (status >= 200 && status <= 299) finish(error === undefined ? { status: "success", data: Buffer.concat(chunks) } : { status: "success" })
          else if (isRetryableStatus(status)) {
            const retryInMillis = parseRetryAfter(res.headers["retry-after"])
            finish({ status: "retryable", ...(retryInMillis === undefined ? {} : { retryInMillis }), ...(error === undefined ? {} : { error }) })
          } else finish({ status: "failure", error: error ?? new HttpExportError(status, res.statusMessage, Buffer.concat(chunks).toString()) })
        }
        res.on("end", () => onDone(undefined))
        res.on("error", onDone)
      })
      const stop = () => {
        req.destroy()
        finish({ status: "failure", error: abandonedError() })
      }
      live.add(stop)
      req.setTimeout(Math.max(1, timeoutMillis), () => {
        req.destroy()
        finish({ status: "retryable", error: new Error("Request timed out") })
      })
      req.on("error", (error: Error & { code?: unknown }) => {
        const retryable = typeof error.code === "string" && retryableNetworkErrors.has(error.code)
        finish(retryable ? { status: "retryable", error } : { status: "failure", error })
      })
      if (options.compression === "gzip") {
        zlib.gzip(data, (error, zipped) => (error === null ? req.end(zipped) : finish({ status: "failure", error })))
      } else req.end(data)
    })

  const wait = (millis: number): Promise<boolean> =>
    new Promise((resolve) => {
      const stop = () => {
        clearTimeout(timer)
        live.delete(stop)
        resolve(false)
      }
      const timer = setTimeout(() => {
        live.delete(stop)
        resolve(true)
      }, millis)
      live.add(stop)
    })

  return {
    async send(data, timeoutMillis) {
      const deadline = Math.min(Date.now() + timeoutMillis, cap)
      let attempts = maxAttempts
      let nextBackoff = initialBackoff
      if (abandoned) return { status: "failure", error: abandonedError() }
      let result = await post(data, deadline - Date.now())
      while (result.status === "retryable" && attempts > 0 && !abandoned) {
        attempts--
        const backoff = Math.max(Math.min(nextBackoff * (1 + (Math.random() * 2 * jitter - jitter)), maxBackoff), 0)
        nextBackoff *= backoffMultiplier
        const retryIn = result.retryInMillis ?? backoff
        // Recomputed each time: a shutdown may have capped the deadline meanwhile.
        const remaining = Math.min(deadline, cap) - Date.now()
        if (retryIn > remaining) return result
        if (!(await wait(Math.max(0, retryIn)))) return { status: "failure", error: abandonedError() }
        result = await post(data, Math.min(deadline, cap) - Date.now())
      }
      return result
    },
    shutdown: () => agent.destroy(),
    capDeadline: (deadline) => {
      cap = Math.min(cap, deadline)
    },
    abandon: () => {
      abandoned = true
      for (const stop of [...live]) stop()
      agent.destroy()
    }
  }
}
