import { EventBus, LmConfig, Predict, Signature } from "@effect-dspy/core"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, ConfigProvider, Effect, Layer, Redacted, Schema, Stream } from "effect"
import * as Lm from "../src/Lm.js"
import { chatCompletion, json, makeFakeFetch } from "./utils/fakeFetch.js"
import { makeRecorders } from "./utils/recorders.js"

const Answer = Signature.make("Answer", {
  instructions: "Answer the question.",
  input: { question: Schema.String },
  output: { answer: Schema.String }
})

const chatReply = "[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]"

// A model layer over a scripted HTTP server (openai-compatible) or the in-process simulator.
const modelLayer = (modelId: string) =>
  Lm.layerWithoutHttpClient(modelId, { baseUrl: "http://127.0.0.1:9/v1", apiKey: Redacted.make("k"), retry: false })
    .pipe(Layer.provide(makeFakeFetch([json(200, chatCompletion({ content: chatReply }))]).layer))

const lmSpans = (spans: ReadonlyArray<string>) => spans.filter((line) => line.startsWith("span chat "))

describe("model layers name their model for LM spans and events", () => {
  for (
    const { model, modelId, provider } of [
      { modelId: "openai-compatible/llama3.1:8b", provider: "openai-compatible", model: "llama3.1:8b" },
      { modelId: "simulator/sim-1", provider: "simulator", model: "sim-1" }
    ]
  ) {
    it.scoped(`${modelId}: span chat ${model} with gen_ai attributes, and lm.* events`, () =>
      Effect.gen(function*() {
        const recorders = makeRecorders()
        const bus = yield* EventBus.make
        const events = yield* bus.subscribe("lm.*")
        yield* Predict.make(Answer)({ question: "Capital of France?" }).pipe(
          Effect.provide(modelLayer(modelId)),
          Effect.provideService(EventBus.EventBus, bus),
          Effect.provide(recorders.layer)
        )
        assert.deepStrictEqual(lmSpans(recorders.spans), [`span chat ${model}`])
        assert.include(recorders.spans, `chat ${model} attribute gen_ai.provider.name=${provider}`)
        assert.include(recorders.spans, `chat ${model} attribute gen_ai.request.model=${model}`)
        const [start, end] = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(events.events, 2)))
        assert(start?.type === "lm.start" && end?.type === "lm.end")
        assert.strictEqual(start.provider, provider)
        assert.strictEqual(start.model, model)
        assert.strictEqual(end.provider, provider)
        assert.strictEqual(end.model, model)
      }))
  }

  it.effect("LmConfig.withSettings inside the program wins; settings in force where the layer is built are kept", () =>
    Effect.gen(function*() {
      const recorders = makeRecorders()
      const inner = yield* Effect.gen(function*() {
        yield* Predict.make(Answer)({ question: "q" }).pipe(LmConfig.withSettings({ model: "my-alias" }))
        return yield* LmConfig.LmConfig
      }).pipe(
        Effect.provide(modelLayer("simulator/sim-1")),
        LmConfig.withSettings({ temperature: 0.3, provider: "outer", model: "outer-model" }),
        Effect.provide(recorders.layer)
      )
      assert.deepStrictEqual(lmSpans(recorders.spans), ["span chat my-alias"])
      assert.include(recorders.spans, "chat my-alias attribute gen_ai.provider.name=simulator")
      // The model layer is closer to the calls than the outer settings: it names the model it serves.
      assert.deepStrictEqual(inner, { temperature: 0.3, provider: "simulator", model: "sim-1" })
    }))

  it.effect("different model layers in different (and nested) subtrees each name their own model", () =>
    Effect.gen(function*() {
      const recorders = makeRecorders()
      const ask = (question: string) => Predict.make(Answer)({ question })
      yield* Effect.all([
        ask("a").pipe(Effect.provide(modelLayer("simulator/sim-1"))),
        ask("b").pipe(Effect.provide(modelLayer("openai-compatible/llama3"))),
        Effect.zipRight(
          ask("c"),
          ask("d").pipe(Effect.provide(modelLayer("simulator/sim-2")))
        ).pipe(Effect.provide(modelLayer("openai-compatible/qwen")))
      ], { concurrency: 1 }).pipe(Effect.provide(recorders.layer))
      assert.deepStrictEqual(lmSpans(recorders.spans), [
        "span chat sim-1",
        "span chat llama3",
        "span chat qwen",
        "span chat sim-2"
      ])
    }))

  it.effect("layerFromEnv names the model it picks from the environment", () =>
    Effect.gen(function*() {
      const recorders = makeRecorders()
      const fake = makeFakeFetch([json(200, chatCompletion({ content: chatReply }))])
      const env = ConfigProvider.fromMap(
        new Map([["EFFECT_DSPY_MODEL", "openai-compatible/qwen2.5"], ["OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:9/v1"]])
      )
      yield* Predict.make(Answer)({ question: "q" }).pipe(
        Effect.provide(Lm.layerFromEnvWithoutHttpClient().pipe(Layer.provide(fake.layer))),
        Effect.provide(Layer.setConfigProvider(env)),
        Effect.provide(recorders.layer)
      )
      assert.strictEqual(fake.requests.length, 1)
      assert.deepStrictEqual(lmSpans(recorders.spans), ["span chat qwen2.5"])
      assert.include(recorders.spans, "chat qwen2.5 attribute gen_ai.provider.name=openai-compatible")
    }))
})
