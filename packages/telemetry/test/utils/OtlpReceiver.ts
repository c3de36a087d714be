/**
 * A real OTLP/HTTP receiver on loopback (port 0) for tests: records every request, answers as
 * scripted (including never answering), and wakes waiters on each request without polling.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as zlib from "node:zlib"
import { decodeJson, decodeMetrics, decodeProtobuf, type DecodedMetric, type DecodedSpan } from "./OtlpDecode.js"

export interface ReceivedRequest {
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  /** The body as sent (compressed when the request says so). */
  readonly raw: Buffer
  /** The body, decompressed. */
  readonly body: Buffer
}

/**
 * How to answer one request: a status with headers and an optional body (raw bytes), after an
 * optional real-time delay, or `stall` to never answer.
 */
export type Answer =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: Uint8Array; readonly delayMillis?: number }
  | "stall"

export interface Receiver {
  /** `http://127.0.0.1:{port}` */
  readonly baseUrl: string
  /** `{baseUrl}/v1/traces` */
  readonly tracesUrl: string
  readonly requests: ReadonlyArray<ReceivedRequest>
  /** Waits until at least `n` requests have arrived. */
  readonly awaitRequests: (n: number) => Effect.Effect<void>
  /** Every span received so far (requests with a 2xx answer or not). */
  readonly spans: () => Array<DecodedSpan>
  /** Every metric data point received so far. */
  readonly metrics: () => Array<DecodedMetric>
  /** All request bodies, concatenated, as text (for secret searches). */
  readonly rawText: () => string
}

const isTraces = (request: ReceivedRequest) => !request.path.includes("/v1/metrics")

const decode = (request: ReceivedRequest): Array<DecodedSpan> =>
  String(request.headers["content-type"]).includes("json") ? decodeJson(request.body) : decodeProtobuf(request.body)

/** Starts a receiver for the scope. */
export const make = (
  answer: (request: ReceivedRequest, index: number) => Answer = () => ({ status: 200 })
): Effect.Effect<Receiver, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: http.Server; readonly receiver: Receiver }>((resume) => {
      const requests: Array<ReceivedRequest> = []
      const waiters: Array<{ readonly n: number; readonly wake: () => void }> = []
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const raw = Buffer.concat(chunks)
          const body = req.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(raw) : raw
          const request: ReceivedRequest = { path: req.url ?? "", headers: req.headers, raw, body }
          const index = requests.length
          requests.push(request)
          for (const waiter of waiters.filter((w) => requests.length >= w.n)) {
            waiters.splice(waiters.indexOf(waiter), 1)
            waiter.wake()
          }
          const reply = answer(request, index)
          if (reply === "stall") return
          const json = String(req.headers["content-type"]).includes("json")
          const send = () => {
            res.writeHead(reply.status, { "content-type": json ? "application/json" : "application/x-protobuf", ...reply.headers })
            res.end(reply.body ?? (json ? "{}" : ""))
          }
          if (reply.delayMillis === undefined) send()
          else setTimeout(send, reply.delayMillis)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        const baseUrl = `http://127.0.0.1:${port}`
        resume(Effect.succeed({
          server,
          receiver: {
            baseUrl,
            tracesUrl: `${baseUrl}/v1/traces`,
            requests,
            awaitRequests: (n) =>
              Effect.async<void>((wake) => {
                if (requests.length >= n) return wake(Effect.void)
                waiters.push({ n, wake: () => wake(Effect.void) })
              }),
            spans: () => requests.filter(isTraces).flatMap(decode),
            metrics: () => requests.filter((r) => !isTraces(r)).flatMap((r) => decodeMetrics(r.body)),
            rawText: () => requests.map((r) => r.body.toString("latin1")).join("\n")
          }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ receiver }) => receiver))

/** A loopback URL nothing listens on: a port that was bound and released. */
export const closedPortUrl: Effect.Effect<string> = Effect.async<string>((resume) => {
  const server = http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(`http://127.0.0.1:${port}/v1/traces`)))
  })
})

/** Spans by name (first match). */
export const byName = (spans: ReadonlyArray<DecodedSpan>, name: string): DecodedSpan => {
  const found = spans.find((s) => s.name === name)
  if (found === undefined) throw new Error(`no span named "${name}" among ${spans.map((s) => s.name).join(", ")}`)
  return found
}

/** The names of the ancestors of a span, nearest first. */
export const ancestors = (spans: ReadonlyArray<DecodedSpan>, span: DecodedSpan): Array<string> => {
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  const out: Array<string> = []
  for (let p = byId.get(span.parentSpanId); p !== undefined; p = byId.get(p.parentSpanId)) out.push(p.name)
  return out
}
