/**
 * A loopback replay server: it answers each request with the next recorded reply, written as a
 * server writes it (status, headers, then the body in the chunks given, each its own write), and
 * records what it was sent. Plus the SSE framing of the documented wire formats, and `drive`,
 * which runs a call on `TestClock` and moves the clock to each pending sleep once the sockets
 * have had their turn.
 */
import { Chunk, Clock, Effect, Exit, Fiber, Option, TestClock } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

/** One reply as a server sends it. */
export interface Reply {
  readonly status?: number
  readonly headers?: Readonly<Record<string, string>>
  /** The body: one string, or the pieces it is written in. */
  readonly body?: string | ReadonlyArray<string>
  /** Cut the body's bytes every `n` bytes (across UTF-8 sequences too), one write each. */
  readonly cutEvery?: number
  /** `close` (default) ends the reply; `destroy` resets the connection after the body; `hang` never ends it. */
  readonly end?: "close" | "destroy" | "hang"
}

/** A request the server received. */
export interface Received {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: Record<string, unknown>
}

const pieces = (reply: Reply): Array<Buffer> => {
  const body = reply.body ?? ""
  const parts = (typeof body === "string" ? [body] : body).map((s) => Buffer.from(s, "utf8"))
  if (reply.cutEvery === undefined) return parts
  const all = Buffer.concat(parts)
  const out: Array<Buffer> = []
  for (let i = 0; i < all.length; i += reply.cutEvery) out.push(all.subarray(i, i + reply.cutEvery))
  return out
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Serves `replies` in order (the last one repeats) on 127.0.0.1 for the scope. `url` is the origin.
 */
export const serve = (replies: ReadonlyArray<Reply> | ((request: Received, index: number) => Reply)) =>
  Effect.gen(function*() {
    const received: Array<Received> = []
    const server = yield* Effect.acquireRelease(
      Effect.async<Http.Server>((resume) => {
        const server = Http.createServer((req, res) => {
          const chunks: Array<Buffer> = []
          req.on("data", (chunk: Buffer) => chunks.push(chunk))
          req.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8")
            const request: Received = {
              method: req.method ?? "",
              url: req.url ?? "",
              headers: req.headers,
              body: text === "" ? {} : JSON.parse(text) as Record<string, unknown>
            }
            const index = received.length
            received.push(request)
            const reply = typeof replies === "function" ? replies(request, index) : replies[Math.min(index, replies.length - 1)]!
            void (async () => {
              res.writeHead(reply.status ?? 200, { "content-type": "application/json", ...reply.headers })
              res.flushHeaders()
              for (const piece of pieces(reply)) {
                res.write(piece)
                await nextTick()
              }
              if (reply.end === "destroy") res.destroy()
              else if (reply.end !== "hang") res.end()
            })()
          })
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }
  })

/** An SSE body of `data:` events (JSON values, or strings as they are), ending with `[DONE]` unless `done: false`. */
export const sse = (events: ReadonlyArray<unknown>, options: { readonly done?: boolean } = {}): Array<string> => [
  ...events.map((e) => `data: ${typeof e === "string" ? e : JSON.stringify(e)}\n\n`),
  ...(options.done === false ? [] : ["data: [DONE]\n\n"])
]

/** An SSE body of named events (`event: type` then `data: {...}`), as Anthropic and Responses send them. */
export const named = (events: ReadonlyArray<{ readonly type: string; readonly [key: string]: unknown }>): Array<string> =>
  events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)

/**
 * Runs `effect` to its end on `TestClock`: real sockets get their turn, then the clock moves to
 * the earliest pending sleep, until the effect is done. The clock moves only after the effect
 * has made no progress for a while in real time (its sockets had their turn): moved sooner, on a
 * loaded machine, it would fire a call's timeout while the reply is on its way.
 */
export const drive = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    let still = 0
    for (let round = 0; round < 4000; round++) {
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, round < 5 ? 1 : 5)))
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return yield* exit.value
      const sleeps = yield* TestClock.sleeps()
      // a timeout, a backoff: only the earliest is due; wait ~50 ms of real time without an exit first
      if (Chunk.isNonEmpty(sleeps) && ++still >= 10) {
        still = 0
        const now = yield* Clock.currentTimeMillis
        yield* TestClock.adjust(Math.max(0, Chunk.unsafeHead(sleeps) - now))
      }
    }
    return yield* Effect.die(new Error("drive: the effect did not finish"))
  })

/** The exit of `effect` driven on `TestClock`. */
export const exitOf = <A, E>(effect: Effect.Effect<A, E>) => Effect.exit(drive(effect))

export { Exit }
