/**
 * Interrupting a streamed call mid-answer closes its connection (the server sees
 * the client go away). A raw loopback server, because it must observe the socket.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Lm from "../src/Lm.js"
import * as LmError from "../src/LmError.js"

interface StubServer {
  readonly url: string
  /** Resolves when a client closed a stream before it ended. */
  readonly clientClosed: Promise<void>
}

// Sends one token then holds the stream open, noticing when the client leaves.
const stubServer = Effect.acquireRelease(
  Effect.async<{ readonly server: Http.Server; readonly stub: StubServer }>((resume) => {
    let onClosed: () => void = () => {}
    const clientClosed = new Promise<void>((resolve) => {
      onClosed = resolve
    })
    const server = Http.createServer((req, res) => {
      req.resume()
      res.writeHead(200, { "content-type": "text/event-stream" })
      res.write(`data: ${JSON.stringify({ id: "c", choices: [{ delta: { content: "Once" }, finish_reason: null }] })}\n\n`)
      res.on("close", () => {
        if (!res.writableEnded) onClosed()
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ server, stub: { url: `http://127.0.0.1:${port}/v1`, clientClosed } }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

// The first request gets its headers and then nothing; later ones get a whole answer. Counts
// requests, and notices when the client leaves the silent one.
const silentThenAnswer = Effect.acquireRelease(
  Effect.async<{ readonly server: Http.Server; readonly url: string; readonly requests: () => number; readonly silentClosed: Promise<void> }>((resume) => {
    let requests = 0
    let onClosed: () => void = () => {}
    const silentClosed = new Promise<void>((resolve) => {
      onClosed = resolve
    })
    const server = Http.createServer((req, res) => {
      req.resume()
      requests++
      res.writeHead(200, { "content-type": "text/event-stream" })
      if (requests === 1) {
        res.on("close", () => {
          if (!res.writableEnded) onClosed()
        })
        return
      }
      for (const content of ["Hel", "lo"]) {
        res.write(`data: ${JSON.stringify({ id: "c", choices: [{ delta: { content }, finish_reason: null }] })}\n\n`)
      }
      res.write(`data: ${JSON.stringify({ id: "c", choices: [{ delta: {}, finish_reason: "stop" }] })}\n\n`)
      res.end("data: [DONE]\n\n")
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ server, url: `http://127.0.0.1:${port}/v1`, requests: () => requests, silentClosed }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

describe("interruption", () => {
  it.live("interrupting a stream mid-answer aborts the HTTP request", () =>
    Effect.gen(function*() {
      const { stub } = yield* stubServer
      const model = Lm.layer("openai-compatible/stub", { baseUrl: stub.url })
      const firstToken = yield* Deferred.make<void>()
      const fiber = yield* LanguageModel.streamText({ prompt: "a long story" }).pipe(
        Stream.runForEach((part) => (part.type === "text-delta" ? Deferred.succeed(firstToken, undefined) : Effect.void)),
        Effect.provide(model),
        Effect.fork
      )
      yield* Deferred.await(firstToken)
      yield* Fiber.interrupt(fiber)
      yield* Effect.promise(() => stub.clientClosed)
    }).pipe(Effect.scoped))

  it.live("a stream that stalls mid-answer times out as StreamFailed with the text so far", () =>
    Effect.gen(function*() {
      const { stub } = yield* stubServer
      const model = Lm.layer("openai-compatible/stub", { baseUrl: stub.url, timeout: "1 second" })
      const error = yield* LanguageModel.streamText({ prompt: "a long story" }).pipe(
        Stream.runDrain,
        Effect.provide(model),
        Effect.flip
      )
      const classified = LmError.classify(error)
      assert(classified._tag === "StreamFailed")
      assert.strictEqual(classified.reason, "Timeout")
      assert.strictEqual(classified.partialText, "Once")
      yield* Effect.promise(() => stub.clientClosed)
    }).pipe(Effect.scoped))

  it.live("a stream silent before its first token times out, its request is aborted, and it is retried", () =>
    Effect.gen(function*() {
      const stub = yield* silentThenAnswer
      const model = Lm.layer("openai-compatible/stub", {
        baseUrl: stub.url,
        retry: { timeout: "1 second", baseDelay: "10 millis", jitter: false }
      })
      const text = yield* LanguageModel.streamText({ prompt: "hi" }).pipe(
        Stream.runFold("", (text, part) => (part.type === "text-delta" ? text + part.delta : text)),
        Effect.provide(model)
      )
      assert.strictEqual(text, "Hello")
      assert.strictEqual(stub.requests(), 2)
      yield* Effect.promise(() => stub.silentClosed)
    }).pipe(Effect.scoped))
})
