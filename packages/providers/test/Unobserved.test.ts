import { Predict, Signature } from "@effect-dspy/core"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schema, Stream } from "effect"
import type * as Http from "node:http"
import * as Lm from "../src/Lm.js"
import { chatCompletion, json, makeFakeFetch, type Responder, sse } from "./utils/fakeFetch.js"
import { serve } from "./utils/loopback.js"
import { makeRecorders } from "./utils/recorders.js"

const Answer = Signature.make("Answer", {
  instructions: "Answer the question.",
  input: { question: Schema.String },
  output: { answer: Schema.String }
})

const reply = json(200, chatCompletion({ content: "[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]" }))

const setup = (responder: Responder = reply, propagation = true) => {
  const fetch = makeFakeFetch([responder])
  // The caller's client, with its own trace propagation turned off when asked.
  const client = propagation
    ? fetch.layer
    : Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, HttpClient.withTracerPropagation(false))).pipe(
      Layer.provide(fetch.layer)
    )
  const layer = Lm.layerWithoutHttpClient("openai-compatible/m", {
    baseUrl: "http://127.0.0.1:9/v1",
    apiKey: Redacted.make("k"),
    retry: false
  }).pipe(Layer.provide(client))
  return { fetch, layer }
}

const streamed = sse([
  { id: "c", choices: [{ delta: { content: "Par" }, finish_reason: null }] },
  { id: "c", choices: [{ delta: { content: "is" }, finish_reason: "stop" }] },
  "[DONE]"
])

// A loopback server answering every request with one short stream, recording request headers.
const loopback = (headers: Array<Http.IncomingHttpHeaders>) =>
  serve((req, res) => {
    headers.push(req.headers)
    req.resume()
    res.writeHead(200, { "content-type": "text/event-stream" })
    res.write(`data: ${JSON.stringify({ id: "c", choices: [{ delta: { content: "Paris" }, finish_reason: "stop" }] })}\n\n`)
    res.end("data: [DONE]\n\n")
  })

// A streamed call inside a span marked as core's generation (what core's LM call makes).
const streamInGeneration = LanguageModel.streamText({ prompt: "Capital of France?" }).pipe(
  Stream.runFold("", (text, part) => (part.type === "text-delta" ? text + part.delta : text)),
  Effect.withSpan("chat m", { attributes: { "langfuse.observation.type": "generation" } })
)

const ask = Predict.make(Answer)({ question: "Capital of France?" })

describe("spans nobody reads are not made", () => {
  it.effect("under Effect's built-in tracer the request carries no trace headers", () =>
    Effect.gen(function*() {
      const { fetch, layer } = setup()
      const prediction = yield* ask.pipe(Effect.provide(layer))
      assert.strictEqual(prediction.output.answer, "Paris")
      assert.strictEqual(fetch.requests.length, 1)
      assert.isUndefined(fetch.requests[0]!.headers["traceparent"])
      assert.isUndefined(fetch.requests[0]!.headers["b3"])
    }))

  it.effect("under an installed tracer the LM spans are made and the trace context is propagated", () =>
    Effect.gen(function*() {
      const { fetch, layer } = setup()
      const recorders = makeRecorders()
      yield* ask.pipe(Effect.provide(layer), Effect.provide(recorders.layer))
      assert.strictEqual(fetch.requests.length, 1)
      assert.include(recorders.spans, "span chat m")
      assert.include(recorders.spans, "span LanguageModel.generateText")
      // Inside core's generation the HTTP client makes no span of its own; the request names
      // the LM call's span (the recorder numbers spans from 1 in the order they start).
      assert.isFalse(recorders.spans.some((line) => line.startsWith("span http.client")))
      const started = recorders.spans.filter((line) => line.startsWith("span "))
      const lmSpanId = started.indexOf("span LanguageModel.generateText") + 1
      assert.strictEqual(fetch.requests[0]!.headers["traceparent"], `00-trace-${lmSpanId}-01`)
      assert.isString(fetch.requests[0]!.headers["b3"])
    }))

  it.effect("a streamed call inside a generation makes no HTTP span either, and sends the trace context", () =>
    Effect.gen(function*() {
      const { fetch, layer } = setup(streamed)
      const recorders = makeRecorders()
      const text = yield* streamInGeneration.pipe(Effect.provide(layer), Effect.provide(recorders.layer))
      assert.strictEqual(text, "Paris")
      assert.include(recorders.spans, "span LanguageModel.streamText")
      assert.isFalse(recorders.spans.some((line) => line.startsWith("span http.client")))
      const started = recorders.spans.filter((line) => line.startsWith("span "))
      const lmSpanId = started.indexOf("span LanguageModel.streamText") + 1
      assert.strictEqual(fetch.requests[0]!.headers["traceparent"], `00-trace-${lmSpanId}-01`)
    }))

  it.effect("a client with trace propagation turned off sends no trace context, generated or streamed", () =>
    Effect.gen(function*() {
      const generated = setup(reply, false)
      const recorders = makeRecorders()
      const prediction = yield* ask.pipe(Effect.provide(generated.layer), Effect.provide(recorders.layer))
      assert.strictEqual(prediction.output.answer, "Paris")
      const stream = setup(streamed, false)
      const text = yield* streamInGeneration.pipe(Effect.provide(stream.layer), Effect.provide(recorders.layer))
      assert.strictEqual(text, "Paris")
      for (const request of [generated.fetch.requests[0]!, stream.fetch.requests[0]!]) {
        assert.isUndefined(request.headers["traceparent"])
        assert.isUndefined(request.headers["b3"])
      }
      assert.isFalse(recorders.spans.some((line) => line.startsWith("span http.client")))
    }))

  it.effect("the caller's propagation setting applies too", () =>
    Effect.gen(function*() {
      const { fetch, layer } = setup()
      const recorders = makeRecorders()
      yield* ask.pipe(
        Effect.provide(layer),
        Effect.provide(recorders.layer),
        Effect.locally(HttpClient.currentTracerPropagation, false)
      )
      assert.isUndefined(fetch.requests[0]!.headers["traceparent"])
    }))

  it.live("over the library's own client: the trace context by hand, unless the caller turns propagation off", () =>
    Effect.gen(function*() {
      const headers: Array<Http.IncomingHttpHeaders> = []
      const url = yield* loopback(headers)
      const layer = Lm.layer("openai-compatible/m", { baseUrl: url, retry: false })
      const recorders = makeRecorders()
      assert.strictEqual(yield* streamInGeneration.pipe(Effect.provide(layer), Effect.provide(recorders.layer)), "Paris")
      assert.isFalse(recorders.spans.some((line) => line.startsWith("span http.client")))
      const started = recorders.spans.filter((line) => line.startsWith("span "))
      const lmSpanId = started.indexOf("span LanguageModel.streamText") + 1
      assert.strictEqual(headers[0]!["traceparent"], `00-trace-${lmSpanId}-01`)
      const off = yield* streamInGeneration.pipe(
        Effect.provide(layer),
        Effect.provide(recorders.layer),
        Effect.locally(HttpClient.currentTracerPropagation, false)
      )
      assert.strictEqual(off, "Paris")
      assert.strictEqual(headers.length, 2)
      assert.isUndefined(headers[1]!["traceparent"])
      assert.isUndefined(headers[1]!["b3"])
    }).pipe(Effect.scoped))
})
