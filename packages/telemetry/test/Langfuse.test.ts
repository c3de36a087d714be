import { LmConfig, Predict, Signature } from "@effect-dspy/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Redacted } from "effect"
import { Langfuse, Telemetry } from "../src/index.js"
import * as OtlpReceiver from "./utils/OtlpReceiver.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

describe("Langfuse", () => {
  it("endpoint joins the base URL and the OTel path", () => {
    assert.strictEqual(Langfuse.endpoint(), "https://cloud.langfuse.com/api/public/otel/v1/traces")
    assert.strictEqual(Langfuse.endpoint("https://lf.example.com/"), "https://lf.example.com/api/public/otel/v1/traces")
  })

  it.scoped("exports with Basic auth and the ingestion version header; sessions and users on every span", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const secret = "sk-lf-0000-SECRET-1111-2222"
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "hi" }))
      yield* Predict.make(Signature.fromString("question -> answer"))({ question: "hello?" }).pipe(
        Effect.withSpan("chat-turn"),
        Telemetry.withSession({ sessionId: "session-7", userId: "ada", tags: ["beta"] }),
        LmConfig.withSettings({ provider: "scripted", model: "m" }),
        Effect.provide(lm.layer),
        Effect.provide(Telemetry.layerLangfuse({
          publicKey: "pk-lf-public",
          secretKey: Redacted.make(secret),
          baseUrl: receiver.baseUrl,
          batch: { scheduleDelay: Duration.hours(1) }
        }))
      )
      const request = receiver.requests[0]!
      assert.strictEqual(request.path, "/api/public/otel/v1/traces")
      assert.strictEqual(request.headers["authorization"], `Basic ${Buffer.from(`pk-lf-public:${secret}`).toString("base64")}`)
      assert.strictEqual(request.headers["x-langfuse-ingestion-version"], "4")
      assert.strictEqual(request.headers["content-type"], "application/x-protobuf")
      assert.notInclude(receiver.rawText(), secret)
      const spans = receiver.spans()
      assert.strictEqual(spans.length, 3)
      for (const span of spans) {
        assert.strictEqual(span.attributes["langfuse.session.id"], "session-7", span.name)
        assert.strictEqual(span.attributes["langfuse.user.id"], "ada", span.name)
        assert.strictEqual(span.attributes["session.id"], "session-7", span.name)
        assert.deepStrictEqual(span.attributes["langfuse.trace.tags"], ["beta"], span.name)
      }
      assert.strictEqual(OtlpReceiver.byName(spans, "chat-turn").attributes["langfuse.trace.name"], "chat-turn")
    }))

  it.scoped("observe marks a span with an observation type", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      yield* Effect.succeed(1).pipe(
        Langfuse.observe("exact_match", "evaluator"),
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl }))
      )
      const span = OtlpReceiver.byName(receiver.spans(), "exact_match")
      assert.strictEqual(span.attributes["langfuse.observation.type"], "evaluator")
    }))
})
