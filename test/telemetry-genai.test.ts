/**
 * The GenAI attribute set of a generation made through a real provider: `@effect-dspy/providers`
 * over HTTP to the simulator's loopback server (chat completions, the Responses API and Messages), its
 * spans exported over OTLP/protobuf and decoded at a loopback receiver. `@effect/ai`'s and the
 * HTTP client's spans inside the call fold into one generation; the provider's deprecated names
 * (`gen_ai.system`, `gen_ai.openai.*`) do not reach the export.
 */
import { Predict, Signature } from "@effect-dspy/core"
import { Lm } from "@effect-dspy/providers"
import { SimulatorServer } from "@effect-dspy/simulator"
import { Telemetry } from "@effect-dspy/telemetry"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Redacted } from "effect"
import * as OtlpReceiver from "../packages/telemetry/test/utils/OtlpReceiver.js"

const quiet = { batch: { scheduleDelay: Duration.hours(1) } }

const exportedGeneration = (modelId: string) =>
  Effect.gen(function*() {
    const server = yield* SimulatorServer.make({ latency: { _tag: "Fixed", millis: 0 } })
    const receiver = yield* OtlpReceiver.make()
    // Anthropic's base URL is the host (its client adds `/v1`); the OpenAI ones end in `/v1`.
    const baseUrl = modelId.startsWith("anthropic/") ? server.url : `${server.url}/v1`
    const model = Lm.layer(modelId, { baseUrl, apiKey: Redacted.make("sk-test-0000"), retry: false })
    yield* Predict.make(Signature.fromString("question -> answer"), { name: "qa" })({ question: "2+2?" }).pipe(
      Effect.provide(model),
      Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet }))
    )
    return { spans: receiver.spans(), port: Number(new URL(server.url).port) }
  })

describe("GenAI attributes through a real provider", () => {
  for (const modelId of ["openai-compatible/sim-1", "openai/sim-1", "anthropic/sim-1"]) {
    it.live(`${modelId}: one generation with the conventions' attributes and no deprecated name`, () =>
      Effect.gen(function*() {
        const { port, spans } = yield* exportedGeneration(modelId)
        // The module and its one generation: @effect/ai's span and the HTTP client's folded in.
        assert.deepStrictEqual(spans.map((s) => s.name).sort(), ["Predict(qa)", "chat sim-1"])
        const chat = OtlpReceiver.byName(spans, "chat sim-1")
        const provider = modelId.split("/")[0]
        assert.strictEqual(chat.attributes["gen_ai.operation.name"], "chat")
        assert.strictEqual(chat.attributes["gen_ai.provider.name"], provider)
        assert.strictEqual(chat.attributes["gen_ai.request.model"], "sim-1")
        assert.strictEqual(chat.attributes["gen_ai.output.type"], "text")
        assert.strictEqual(chat.attributes["dspy.predictor"], "qa")
        assert.strictEqual(chat.attributes["server.address"], "127.0.0.1")
        assert.strictEqual(chat.attributes["server.port"], port)
        assert.isString(chat.attributes["gen_ai.response.model"])
        assert.isArray(chat.attributes["gen_ai.response.finish_reasons"])
        assert.isAbove(Number(chat.attributes["gen_ai.usage.input_tokens"]), 0)
        assert.isAbove(Number(chat.attributes["gen_ai.usage.output_tokens"]), 0)
        for (const span of spans) {
          for (const [key, value] of Object.entries(span.attributes)) {
            assert.isFalse(key === "gen_ai.system" || key.startsWith("gen_ai.openai.") || key === "gen_ai.prompt", `${span.name}: ${key}`)
            assert.notStrictEqual(value, "[]", `${span.name}: ${key}`)
            assert.notStrictEqual(value, "undefined", `${span.name}: ${key}`)
          }
        }
        // Content is opt-in: none was asked for.
        assert.notProperty(chat.attributes, "gen_ai.input.messages")
        assert.notProperty(chat.attributes, "gen_ai.output.messages")
      }).pipe(Effect.scoped), 60_000)
  }
})
