/**
 * The default Node HttpClient (undici with a lean response): bodies read once and the same
 * text on every read, JSON and streamed bodies, headers and status, and interruption while
 * the body is pending aborting the request. A raw loopback server, because it must observe
 * the socket.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as UndiciClient from "../src/internal/undiciClient.js"

interface Stub {
  readonly url: string
  /** Resolves when a client closed a held request before its body ended. */
  readonly clientClosed: Promise<void>
}

const stubServer = Effect.acquireRelease(
  Effect.async<{ readonly server: Http.Server; readonly stub: Stub }>((resume) => {
    let onClosed: () => void = () => {}
    const clientClosed = new Promise<void>((resolve) => {
      onClosed = resolve
    })
    const server = Http.createServer((req, res) => {
      let body = ""
      req.on("data", (data: Buffer) => {
        body += data.toString()
      })
      req.on("end", () => {
        if (req.url === "/hold") {
          // Headers, then a body that never ends.
          res.writeHead(200, { "content-type": "text/plain" })
          res.write("partial")
          res.on("close", () => {
            if (!res.writableEnded) onClosed()
          })
          return
        }
        res.writeHead(201, { "content-type": "application/json", "x-echo": req.method ?? "" })
        res.end(JSON.stringify({ got: body }))
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ server, stub: { url: `http://127.0.0.1:${port}`, clientClosed } }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

describe("default Node HttpClient", () => {
  it.live("reads a body once: text twice is the same text, json parses it, status and headers are the server's", () =>
    Effect.gen(function*() {
      const { stub } = yield* stubServer
      const client = yield* HttpClient.HttpClient
      const response = yield* client.execute(HttpClientRequest.bodyText(HttpClientRequest.post(`${stub.url}/echo`), "hello"))
      assert.strictEqual(response.status, 201)
      assert.strictEqual(response.headers["x-echo"], "POST")
      const first = yield* response.text
      const second = yield* response.text
      assert.strictEqual(first, JSON.stringify({ got: "hello" }))
      assert.strictEqual(second, first)
      assert.deepStrictEqual(yield* response.json, { got: "hello" })
    }).pipe(Effect.provide(UndiciClient.layer), Effect.scoped))

  it.live("streams a body", () =>
    Effect.gen(function*() {
      const { stub } = yield* stubServer
      const client = yield* HttpClient.HttpClient
      const response = yield* client.execute(HttpClientRequest.post(`${stub.url}/echo`))
      const chunks = yield* Stream.runCollect(Stream.decodeText(response.stream))
      assert.strictEqual(Chunk.join(chunks, ""), JSON.stringify({ got: "" }))
    }).pipe(Effect.provide(UndiciClient.layer), Effect.scoped))

  it.live("interrupting a read of a pending body aborts the request", () =>
    Effect.gen(function*() {
      const { stub } = yield* stubServer
      const client = yield* HttpClient.HttpClient
      const response = yield* client.execute(HttpClientRequest.get(`${stub.url}/hold`))
      assert.strictEqual(response.status, 200)
      const reading = yield* Effect.fork(response.text)
      // Let the read start (it then waits on the body) before interrupting it.
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(reading)
      yield* Effect.promise(() => stub.clientClosed)
    }).pipe(Effect.provide(UndiciClient.layer), Effect.scoped))
})
