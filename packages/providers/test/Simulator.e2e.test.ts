/**
 * Every provider against the simulator server over real HTTP on loopback.
 */
import { Script, SimulatorServer } from "@effect-dspy/simulator"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Redacted, Schema, Stream } from "effect"
import * as Lm from "../src/Lm.js"
import * as LmError from "../src/LmError.js"

const GetWeather = Tool.make("GetWeather", {
  description: "Weather of a city",
  parameters: { city: Schema.String },
  success: Schema.String
})
const Weather = Toolkit.make(GetWeather)
const WeatherHandlers = Weather.toLayer({ GetWeather: ({ city }) => Effect.succeed(`sunny in ${city}`) })

const Answer = Schema.Struct({ answer: Schema.String, confidence: Schema.Number })

const script = [Script.whenUserSays("weather", Script.toolCall("GetWeather", { city: "Paris" }))]

const KEY = "sim-test-key-0123456789"

// How each provider addresses the server.
const providers = [
  { id: "openai/sim-1", baseUrl: (url: string) => `${url}/v1` },
  { id: "anthropic/sim-1", baseUrl: (url: string) => url },
  { id: "openai-compatible/sim-1", baseUrl: (url: string) => `${url}/v1` }
] as const

const modelFor = (id: string, baseUrl: (url: string) => string, options: Lm.Options = {}) =>
  Layer.unwrapEffect(Effect.map(SimulatorServer.SimulatorServer, (server) =>
    Lm.layer(id, { apiKey: Redacted.make(KEY), baseUrl: baseUrl(server.url), ...options })))

// Waits (on the live clock) until the server's counters satisfy a condition.
const awaitCounters = (predicate: (c: SimulatorServer.Counters) => boolean) =>
  Effect.flatMap(SimulatorServer.SimulatorServer, (server) => {
    const loop: Effect.Effect<SimulatorServer.Counters> = Effect.flatMap(
      server.counters,
      (c) => predicate(c) ? Effect.succeed(c) : Effect.zipRight(Effect.sleep("5 millis"), loop)
    )
    return Effect.timeoutFail(loop, { duration: "10 seconds", onTimeout: () => new Error("counters never matched") })
  })

// A call still waiting for its (slow) answer is interrupted: the server must see the client leave.
const interruptedCallClosesItsConnection = Effect.gen(function*() {
  const fiber = yield* Effect.fork(LanguageModel.generateText({ prompt: "slow" }))
  yield* awaitCounters((c) => c.inFlight === 1)
  yield* Fiber.interrupt(fiber)
  const counters = yield* awaitCounters((c) => c.abortedByClient === 1)
  assert.strictEqual(counters.inFlight, 0)
})

describe("providers against the simulator server", () => {
  for (const { baseUrl, id } of providers) {
    describe(id, () => {
      const server = SimulatorServer.layer({ port: 0, script, apiKey: KEY })
      const model = modelFor(id, baseUrl).pipe(Layer.provideMerge(server))

      it.live("generateText: text, usage, finish reason", () =>
        Effect.gen(function*() {
          const response = yield* LanguageModel.generateText({ prompt: "Say hello to the shop" })
          assert.isAbove(response.text.length, 0)
          assert.strictEqual(response.finishReason, "stop")
          assert.isAbove(response.usage.inputTokens ?? 0, 0)
          assert.isAbove(response.usage.outputTokens ?? 0, 0)
        }).pipe(Effect.provide(model)))

      it.live("streamText: deltas add up to the text, and a finish part with usage", () =>
        Effect.gen(function*() {
          const whole = yield* LanguageModel.generateText({ prompt: "Describe the coffee" })
          const parts = yield* LanguageModel.streamText({ prompt: "Describe the coffee" }).pipe(
            Stream.runCollect,
            Effect.map(Chunk.toArray)
          )
          const streamed = parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join("")
          assert.strictEqual(streamed, whole.text)
          const finish = parts.at(-1)
          assert(finish?.type === "finish", `last part: ${finish?.type}`)
          assert.isAbove(finish.usage.outputTokens ?? 0, 0)
        }).pipe(Effect.provide(model)))

      it.live("generateObject: structured output decodes", () =>
        Effect.gen(function*() {
          const response = yield* LanguageModel.generateObject({ prompt: "Is it good?", schema: Answer, objectName: "answer" })
          assert.isString(response.value.answer)
          assert.isNumber(response.value.confidence)
        }).pipe(Effect.provide(model)))

      it.live("tool calls: generated and resolved", () =>
        Effect.gen(function*() {
          const response = yield* LanguageModel.generateText({ prompt: "What is the weather in Paris?", toolkit: Weather })
          assert.strictEqual(response.toolCalls.length, 1)
          assert.strictEqual(response.toolCalls[0]!.name, "GetWeather")
          assert.deepStrictEqual(response.toolCalls[0]!.params, { city: "Paris" })
          assert.strictEqual(response.toolResults[0]!.result, "sunny in Paris")
          assert.strictEqual(response.finishReason, "tool-calls")
        }).pipe(Effect.provide(model), Effect.provide(WeatherHandlers)))

      it.live("tool calls: streamed", () =>
        Effect.gen(function*() {
          const parts = yield* LanguageModel.streamText({
            prompt: "What is the weather in Paris?",
            toolkit: Weather,
            disableToolCallResolution: true
          }).pipe(Stream.runCollect, Effect.map(Chunk.toArray))
          const call = parts.find((p) => p.type === "tool-call")
          assert(call?.type === "tool-call")
          assert.strictEqual(call.name, "GetWeather")
          assert.deepStrictEqual(call.params, { city: "Paris" })
        }).pipe(Effect.provide(model), Effect.provide(WeatherHandlers)))

      it.live("a wrong key is classified as Authentication and not retried", () =>
        Effect.gen(function*() {
          const error = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
            Effect.provide(modelFor(id, baseUrl, { apiKey: Redacted.make("wrong-key-abcdef") })),
            Effect.flip
          )
          assert.strictEqual(LmError.classify(error)._tag, "Authentication")
          const counters = yield* Effect.flatMap(SimulatorServer.SimulatorServer, (s) => s.counters)
          assert.strictEqual(counters.requests, 1)
          assert.notInclude(error.message, "wrong-key-abcdef")
        }).pipe(Effect.provide(server)))

      it.live("server errors and resets are retried until the call succeeds", () =>
        Effect.gen(function*() {
          const faulty = SimulatorServer.layer({ port: 0, seed: 3, faults: { serverError: 0.3, reset: 0.2 } })
          yield* Effect.gen(function*() {
            for (let i = 0; i < 12; i++) {
              const response = yield* LanguageModel.generateText({ prompt: `question ${i}` })
              assert.isAbove(response.text.length, 0)
            }
            const counters = yield* Effect.flatMap(SimulatorServer.SimulatorServer, (s) => s.counters)
            assert.isAbove(counters.serverErrors + counters.resets, 0)
            assert.strictEqual(counters.completed, 12)
          }).pipe(
            Effect.provide(
              modelFor(id, baseUrl, { apiKey: Redacted.make("unused"), retry: { maxRetries: 12, baseDelay: "5 millis", maxDelay: "20 millis" } })
                .pipe(Layer.provideMerge(faulty))
            )
          )
        }))

      it.live("interrupting a call closes its connection", () =>
        Effect.gen(function*() {
          const slow = SimulatorServer.layer({ port: 0, latency: { _tag: "Fixed", millis: 60_000 } })
          yield* interruptedCallClosesItsConnection.pipe(Effect.provide(modelFor(id, baseUrl, { apiKey: Redacted.make("unused") }).pipe(Layer.provideMerge(slow))))
        }))
    })
  }

  it.live("over Lm.nodeHttpClientLayer: a call and a stream answer, and interrupting a call closes its connection", () =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.SimulatorServer
      const model = Lm.layerWithoutHttpClient("openai-compatible/sim-1", { baseUrl: `${server.url}/v1` }).pipe(
        Layer.provide(Lm.nodeHttpClientLayer)
      )
      yield* Effect.gen(function*() {
        const response = yield* LanguageModel.generateText({ prompt: "What is 2+2?" })
        assert.isAbove(response.text.length, 0)
        const parts = yield* Stream.runCollect(LanguageModel.streamText({ prompt: "What is 2+2?" }))
        assert.isTrue(Chunk.some(parts, (part) => part.type === "text-delta"))
      }).pipe(Effect.provide(model))
      const slow = SimulatorServer.layer({ port: 0, latency: { _tag: "Fixed", millis: 60_000 } })
      // the model (and its client's agents) stays open while the call is interrupted: the
      // connection must close because of the abort, not because the agents were destroyed
      const slowModel = Layer.unwrapEffect(Effect.map(SimulatorServer.SimulatorServer, (slowServer) =>
        Lm.layerWithoutHttpClient("openai-compatible/sim-1", { baseUrl: `${slowServer.url}/v1` }).pipe(
          Layer.provide(Lm.nodeHttpClientLayer)
        )))
      yield* interruptedCallClosesItsConnection.pipe(Effect.provide(slowModel.pipe(Layer.provideMerge(slow))))
    }).pipe(Effect.provide(SimulatorServer.layer({ port: 0 }))))
})
