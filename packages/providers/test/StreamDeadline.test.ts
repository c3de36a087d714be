/**
 * A streamed call's idle deadline on the live clock, where the chat-completions provider enforces
 * it itself (its timer aborts the request) or, over a client that may ignore the abort,
 * `Resilience` around the stream. Real timers, so the timeouts are short; no timing is asserted.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as Lm from "../src/Lm.js"
import * as LmError from "../src/LmError.js"
import { serve } from "./utils/loopback.js"

const event = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "c", choices: [{ delta, finish_reason: finish }] })}\n\n`

// Answers every request with `tokens`, `gapMillis` apart, then a finish reason and `[DONE]`;
// `end: false` keeps the response open after `[DONE]`.
const server = (tokens: ReadonlyArray<string>, options: { readonly gapMillis: number; readonly end: boolean }) =>
  serve((req, res) => {
    req.resume()
    res.writeHead(200, { "content-type": "text/event-stream" })
    let i = 0
    const next = () => {
      if (res.destroyed) return
      if (i < tokens.length) {
        res.write(event({ content: tokens[i++] }))
        setTimeout(next, options.gapMillis)
        return
      }
      res.write(event({}, "stop"))
      if (options.end) res.end("data: [DONE]\n\n")
      else res.write("data: [DONE]\n\n")
    }
    next()
  })

const textOf = (parts: Iterable<{ readonly type: string }>) => {
  let text = ""
  for (const part of parts) if (part.type === "text-delta" && "delta" in part) text += String(part.delta)
  return text
}

// A bound on the test itself: a stream that never ends fails here instead of at the runner's limit.
const bounded = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.timeoutFail(effect, { duration: "10 seconds", onTimeout: () => new Error("the stream never ended") })

describe("a streamed call's idle deadline", () => {
  it.live("does not count the consumer's time between parts", () =>
    Effect.gen(function*() {
      // Deadlines far above an event-loop stall on a loaded machine, so that only the behaviour under
      // test can trip them.
      const stub = yield* server(["One", " two", " three"], { gapMillis: 10, end: true })
      const model = Lm.layer("openai-compatible/stub", { baseUrl: stub, retry: false, timeout: "300 millis" })
      let text = ""
      // Every chunk keeps the consumer busy for twice the deadline; the server never waits that long.
      yield* LanguageModel.streamText({ prompt: "count" }).pipe(
        Stream.runForEachChunk((chunk) => Effect.zipRight(Effect.sync(() => text += textOf(chunk)), Effect.sleep("600 millis"))),
        Effect.provide(model),
        bounded
      )
      assert.strictEqual(text, "One two three")
    }).pipe(Effect.scoped))

  it.live("does not fail a stream the server finished whose socket stays open", () =>
    Effect.gen(function*() {
      const stub = yield* server(["Hel", "lo"], { gapMillis: 1, end: false })
      const model = Lm.layer("openai-compatible/stub", { baseUrl: stub, retry: false, timeout: "300 millis" })
      const parts = yield* LanguageModel.streamText({ prompt: "hi" }).pipe(Stream.runCollect, Effect.provide(model), bounded)
      assert.strictEqual(textOf(parts), "Hello")
      assert.strictEqual([...parts].at(-1)?.type, "finish")
    }).pipe(Effect.scoped))

  it.live("over a client whose body ignores the abort, still times out and retries", () =>
    Effect.gen(function*() {
      let requests = 0
      const encoder = new TextEncoder()
      // The first body never delivers a byte and ignores the request's abort signal.
      const client = HttpClient.make((request) =>
        Effect.sync(() => {
          requests++
          const body = requests === 1
            ? new ReadableStream<Uint8Array>({})
            : new ReadableStream<Uint8Array>({
              start(controller) {
                for (const data of [event({ content: "Hi" }), event({}, "stop"), "data: [DONE]\n\n"]) {
                  controller.enqueue(encoder.encode(data))
                }
                controller.close()
              }
            })
          return HttpClientResponse.fromWeb(
            request,
            new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } })
          )
        })
      )
      const model = Lm.layerWithoutHttpClient("openai-compatible/m", {
        baseUrl: "http://127.0.0.1:9/v1",
        retry: { timeout: "50 millis", baseDelay: "1 millis", jitter: false, maxRetries: 1 }
      }).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, client)))
      const parts = yield* LanguageModel.streamText({ prompt: "hi" }).pipe(Stream.runCollect, Effect.provide(model), bounded)
      assert.strictEqual(textOf(parts), "Hi")
      assert.strictEqual(requests, 2)

      // Without retries the attempt fails with the typed timeout.
      requests = 0
      const once = Lm.layerWithoutHttpClient("openai-compatible/m", {
        baseUrl: "http://127.0.0.1:9/v1",
        retry: false,
        timeout: "50 millis"
      }).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, client)))
      const error = yield* LanguageModel.streamText({ prompt: "hi" }).pipe(Stream.runDrain, Effect.provide(once), Effect.flip, bounded)
      assert.strictEqual(LmError.classify(error)._tag, "Timeout")
    }))
})
