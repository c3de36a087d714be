import { Predict, Signature } from "@effect-dspy/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schema } from "effect"
import * as Lm from "../src/Lm"
import { chatCompletion, json, makeFakeFetch } from "./utils/fakeFetch"
import { makeRecorders } from "./utils/recorders"

const Answer = Signature.make("Answer", {
  instructions: "Answer the question.",
  input: { question: Schema.String },
  output: { answer: Schema.String }
})

const reply = json(200, chatCompletion({ content: "[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]" }))

const setup = () => {
  const fetch = makeFakeFetch([reply])
  const layer = Lm.layerWithoutHttpClient("openai-compatible/m", {
    baseUrl: "http://127.0.0.1:9/v1",
    apiKey: Redacted.make("k"),
    retry: false
  }).pipe(Layer.provide(fetch.layer))
  return { fetch, layer }
}

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
})
