/**
 * Helpers for the chat-server tests: start the server in-process on an ephemeral port, talk
 * to it over loopback, and wait for a condition without timers.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { Context, Effect, Layer } from "effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as ChatServer from "../../examples/chat-server/ChatServer.js"

/** The model the server needs (the `LanguageModel`), as `ChatServer.layer` declares it. */
type Model = Exclude<Layer.Layer.Context<ReturnType<typeof ChatServer.layer>>, HttpServer.HttpServer>

/** Starts the chat server on 127.0.0.1, port 0, for the scope; returns its base URL. */
export const start = (
  model: Layer.Layer<Model, unknown>,
  options: ChatServer.Options = {}
): Effect.Effect<string, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      ChatServer.layer(options).pipe(
        Layer.provideMerge(ChatServer.serverLayer({ port: 0 })),
        Layer.provide(model)
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("expected a TCP address")
    return `http://127.0.0.1:${address.port}`
  })

export interface Reply {
  readonly status: number
  readonly contentType: string | null
  readonly text: string
}

/** POSTs a body (a string is sent as is) and reads the whole reply. */
export const post = (url: string, body?: unknown): Effect.Effect<Reply> =>
  Effect.promise(async () => {
    const r = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) })
    })
    return { status: r.status, contentType: r.headers.get("content-type"), text: await r.text() }
  })

/** GETs JSON. */
export const getJson = (url: string): Effect.Effect<unknown> =>
  Effect.promise(async () => (await fetch(url)).json() as Promise<unknown>)

/** Creates a conversation; returns its id. */
export const createConversation = (base: string): Effect.Effect<string> =>
  Effect.flatMap(post(`${base}/api/conversations`), (reply) => {
    const body: unknown = JSON.parse(reply.text)
    return typeof body === "object" && body !== null && "id" in body && typeof body.id === "string"
      ? Effect.succeed(body.id)
      : Effect.dieMessage(`unexpected reply: ${reply.text}`)
  })

/**
 * Posts a message with `node:http` and resolves with the request once the first `token` event
 * has arrived; `destroy()` on it then disconnects mid-stream.
 */
export const openStreamUntilFirstToken = (url: string, message: string): Effect.Effect<Http.ClientRequest> =>
  Effect.async<Http.ClientRequest>((resume) => {
    const body = JSON.stringify({ message })
    const request = Http.request(url, {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
    }, (response) => {
      let text = ""
      let resumed = false
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => {
        text += chunk
        if (!resumed && text.includes("event: token")) {
          resumed = true
          resume(Effect.succeed(request))
        }
      })
      response.on("error", () => {})
    })
    request.on("error", () => {})
    request.end(body)
  })

/** Yields to the event loop (no timer) until `check` holds; dies after `maxMillis` of wall time as a safety net. */
export const eventually = <A>(effect: Effect.Effect<A>, check: (a: A) => boolean, maxMillis = 15_000): Effect.Effect<A> =>
  Effect.gen(function*() {
    const deadline = Date.now() + maxMillis
    for (;;) {
      const a = yield* effect
      if (check(a)) return a
      if (Date.now() > deadline) return yield* Effect.dieMessage(`condition not met: ${JSON.stringify(a)}`)
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
    }
  })
