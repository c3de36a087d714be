import { EventBus, GenAiSpan, LmConfig, Predict, Signature } from "@effect-dspy/core"
import { CurrentSpanTransformer } from "@effect/ai/Telemetry"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, Exit, FastCheck, Layer, Option, Redacted } from "effect"
import { EventLog, Telemetry, TelemetryConfig } from "../src/index.js"
import * as Logs from "./utils/Logs.js"
import * as OtlpReceiver from "./utils/OtlpReceiver.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromJson(env))

const QA = Signature.fromString("question -> answer")

const predictOnce = Predict.make(QA)({ question: "2+2?" }).pipe(
  LmConfig.withSettings({ provider: "scripted", model: "m" }),
  Effect.provide(ScriptedLm.make(() => ScriptedLm.reply({ answer: "4" })).layer)
)

describe("TelemetryConfig parsing", () => {
  it("parses key=value lists with percent-decoding and base64 padding", () => {
    assert.deepStrictEqual(
      TelemetryConfig.parseKeyValues(" authorization=Basic YWJjOmRlZg== , x-team = a%20b ,,"),
      Either.right({ authorization: "Basic YWJjOmRlZg==", "x-team": "a b" })
    )
    assert.isTrue(Either.isLeft(TelemetryConfig.parseKeyValues("novalue")))
  })

  it.prop("key=value lists round-trip through percent-encoding", [
    FastCheck.dictionary(FastCheck.string({ minLength: 1 }), FastCheck.string())
  ], ([record]) => {
    const text = Object.entries(record).map(([k, v]) => ` ${encodeURIComponent(k)} = ${encodeURIComponent(v)} `).join(",")
    assert.deepStrictEqual(TelemetryConfig.parseKeyValues(text), Either.right(record))
  })

  it("appends the signal path to the base endpoint", () => {
    assert.strictEqual(TelemetryConfig.tracesUrl("http://collector:4318"), "http://collector:4318/v1/traces")
    assert.strictEqual(TelemetryConfig.tracesUrl("http://collector:4318/otlp/"), "http://collector:4318/otlp/v1/traces")
  })

  it.effect("reads the batch processor settings and caps the batch at the queue", () =>
    Effect.gen(function*() {
      const batch = yield* TelemetryConfig.batch.pipe(
        withEnv({ OTEL_BSP_MAX_QUEUE_SIZE: "100", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "512", OTEL_BSP_SCHEDULE_DELAY: "250", OTEL_BSP_EXPORT_TIMEOUT: "1000" })
      )
      assert.strictEqual(batch.maxQueueSize, 100)
      assert.strictEqual(batch.maxExportBatchSize, 100)
      assert.isTrue(Duration.equals(batch.scheduleDelay, Duration.millis(250)))
      assert.isTrue(Duration.equals(batch.exportTimeout, Duration.seconds(1)))
    }))

  it.effect("rejects what it cannot use with a clear ConfigError", () =>
    Effect.gen(function*() {
      const cases: Array<[Record<string, string>, string]> = [
        [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, "grpc is not supported"],
        [{ OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" }, "not a valid URL"],
        [{ OTEL_BSP_MAX_QUEUE_SIZE: "lots" }, "expected an integer"],
        [{ LANGFUSE_PUBLIC_KEY: "pk-lf-1" }, "LANGFUSE_PUBLIC_KEY is set but LANGFUSE_SECRET_KEY is not"],
        [{ EFFECT_DSPY_CAPTURE_CONTENT: "maybe" }, "expected true or false"]
      ]
      for (const [env, message] of cases) {
        const exit = yield* Effect.exit(TelemetryConfig.fromEnv.pipe(withEnv(env)))
        assert.isTrue(Exit.isFailure(exit), JSON.stringify(env))
        if (Exit.isFailure(exit)) assert.include(String(exit.cause), message)
      }
    }))

  it.effect("nothing set, or OTEL_SDK_DISABLED: tracing is off", () =>
    Effect.gen(function*() {
      const none = yield* TelemetryConfig.fromEnv.pipe(withEnv({}))
      assert.isFalse(none.enabled)
      const disabled = yield* TelemetryConfig.fromEnv.pipe(
        withEnv({ OTEL_SDK_DISABLED: "TRUE", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", LANGFUSE_PUBLIC_KEY: "p", LANGFUSE_SECRET_KEY: "s" })
      )
      assert.isFalse(disabled.enabled)
      assert.strictEqual(disabled.destinations.length, 0)
      const none2 = yield* TelemetryConfig.fromEnv.pipe(withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" }))
      assert.isFalse(none2.enabled)
    }))

  it.effect("both OTLP and Langfuse set: spans go to both", () =>
    Effect.gen(function*() {
      const settings = yield* TelemetryConfig.fromEnv.pipe(withEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        LANGFUSE_PUBLIC_KEY: "pk",
        LANGFUSE_SECRET_KEY: "sk-lf-secret-123",
        LANGFUSE_HOST: "https://lf.example.com"
      }))
      assert.deepStrictEqual(settings.destinations.map((d) => [d.name, d.url]), [
        ["otlp", "http://c:4318/v1/traces"],
        ["langfuse", "https://lf.example.com/api/public/otel/v1/traces"]
      ])
    }))
})

describe("Telemetry.layerFromEnv", () => {
  it.scoped("with nothing set it is Layer.empty-like: Effect's tracer stays, nothing is exported", () =>
    Effect.gen(function*() {
      const outside = yield* Effect.tracer
      const { enabled, inside } = yield* Effect.gen(function*() {
        const telemetry = yield* Telemetry.Telemetry
        return { enabled: telemetry.enabled, inside: yield* Effect.tracer }
      }).pipe(Effect.provide(Telemetry.layerFromEnv), withEnv({}))
      assert.isFalse(enabled)
      assert.strictEqual(inside, outside)
    }))

  it.scoped("with nothing set, a span transformer or content sink of the user's stays in force", () =>
    Effect.gen(function*() {
      const transformed: Array<string> = []
      const captured: Array<string> = []
      yield* predictOnce.pipe(
        Effect.provide(Telemetry.layerFromEnv),
        withEnv({}),
        Effect.provideService(CurrentSpanTransformer, (options) => {
          transformed.push(options.span.name)
        }),
        Effect.provideService(GenAiSpan.CurrentContentSink, (_span, _value, info) => {
          captured.push(`${info.span}.${info.direction}`)
        })
      )
      assert.deepStrictEqual(transformed, ["LanguageModel.generateText"])
      assert.includeMembers(captured, ["module.input", "module.output", "lm.input", "lm.output"])
    }))

  it.scoped("OTLP from OTEL_* variables: endpoint, headers, protocol, service and resource", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      yield* predictOnce.pipe(
        Effect.provide(Telemetry.layerFromEnv),
        withEnv({
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.baseUrl,
          OTEL_EXPORTER_OTLP_HEADERS: "x-team=a%20b,authorization=Bearer otlp-token-0123456789",
          OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
          OTEL_SERVICE_NAME: "coffee-shop",
          OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test,service.name=ignored",
          OTEL_BSP_SCHEDULE_DELAY: "3600000"
        })
      )
      const request = receiver.requests[0]!
      assert.strictEqual(request.path, "/v1/traces")
      assert.strictEqual(request.headers["x-team"], "a b")
      assert.strictEqual(request.headers["authorization"], "Bearer otlp-token-0123456789")
      assert.include(String(request.headers["content-type"]), "application/json")
      const span = receiver.spans()[0]!
      assert.strictEqual(span.resource["service.name"], "coffee-shop")
      assert.strictEqual(span.resource["deployment.environment"], "test")
    }))

  it.scoped("EFFECT_DSPY_CAPTURE_CONTENT=false keeps prompts and outputs off spans", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      yield* predictOnce.pipe(
        Effect.provide(Telemetry.layerFromEnv),
        withEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl, EFFECT_DSPY_CAPTURE_CONTENT: "false" })
      )
      const chat = OtlpReceiver.byName(receiver.spans(), "chat m")
      assert.isUndefined(chat.attributes["langfuse.observation.input"])
      assert.isUndefined(chat.attributes["langfuse.observation.output"])
      assert.strictEqual(chat.attributes["gen_ai.response.model"], "scripted-model-2025")
    }))
})

describe("secrets", () => {
  const openAiKey = "sk-proj-FAKEKEY0123456789abcdefXYZ"
  const localKey = "local-FAKE-KEY-zzzz-9999-qqqq" // matches no built-in pattern: only exact scrubbing catches it
  const langfuseSecret = "sk-lf-FAKE-SECRET-0123456789abcdef"
  const otlpToken = "otlp-FAKE-token-5555-6666"

  it.scoped("API keys appear nowhere in the exported bytes or the logs", () =>
    Effect.gen(function*() {
      const otlp = yield* OtlpReceiver.make()
      const langfuse = yield* OtlpReceiver.make()
      const logs = Logs.capture()
      const lm = ScriptedLm.make((prompt, call) =>
        call === 1
          ? ScriptedLm.httpError(`Incorrect API key provided: ${openAiKey}; also tried ${localKey}`)
          : ScriptedLm.reply({ answer: `you sent ${ScriptedLm.lastUserText(prompt).includes(localKey) ? localKey : "?"}` })
      )
      const qa = Predict.make(QA)
      const program = Effect.gen(function*() {
        const first = yield* Effect.either(qa({ question: "hello" }))
        assert.isTrue(Either.isLeft(first))
        const second = yield* qa({ question: `my keys are ${openAiKey} and ${localKey}` })
        assert.include(second.output.answer, localKey) // the program itself sees its data untouched
      })
      yield* program.pipe(
        LmConfig.withSettings({ provider: "openai-compatible", model: "m" }),
        Effect.provide(lm.layer),
        Effect.provide(Layer.mergeAll(Telemetry.layerFromEnv, EventLog.layer({ level: "Info" })).pipe(Layer.provideMerge(EventBus.layer))),
        Effect.provide(logs.layer),
        withEnv({
          OPENAI_API_KEY: openAiKey,
          OPENAI_COMPATIBLE_API_KEY: localKey,
          OTEL_EXPORTER_OTLP_ENDPOINT: otlp.baseUrl,
          OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer ${otlpToken}`,
          LANGFUSE_PUBLIC_KEY: "pk-lf-public",
          LANGFUSE_SECRET_KEY: langfuseSecret,
          LANGFUSE_BASE_URL: langfuse.baseUrl
        })
      )
      assert.isAbove(otlp.spans().length, 0)
      assert.isAbove(langfuse.spans().length, 0)
      const failed = otlp.spans().find((s) => s.name === "chat m" && s.status.code === 2)
      assert.isDefined(failed) // the failing LM call is exported, with its error scrubbed
      assert.include(JSON.stringify(failed), "[REDACTED]")
      // Core hands the prompt of a failed call to the sink too.
      assert.include(String(failed!.attributes["langfuse.observation.input"]), "hello")
      const exported = otlp.rawText() + langfuse.rawText()
      for (const secret of [openAiKey, localKey, langfuseSecret, otlpToken]) {
        assert.notInclude(exported, secret)
        assert.notInclude(logs.text(), secret)
      }
      // Each destination gets its own credentials only.
      assert.strictEqual(otlp.requests[0]!.headers["authorization"], `Bearer ${otlpToken}`)
      assert.match(String(langfuse.requests[0]!.headers["authorization"]), /^Basic /)
      assert.notInclude(JSON.stringify(langfuse.requests.map((r) => r.headers)), otlpToken)
      assert.include(logs.text(), "lm.error")
    }))

  it("Redacted settings never print their values", () => {
    const settings = TelemetryConfig.make({
      destinations: [Telemetry.otlpDestination({ url: "http://c/v1/traces", headers: { authorization: "Bearer abcdefgh12345678" } })],
      secrets: [Redacted.make(openAiKey)]
    })
    assert.notInclude(JSON.stringify(settings), "abcdefgh12345678")
    assert.notInclude(String(Option.some(settings)), openAiKey)
  })
})
