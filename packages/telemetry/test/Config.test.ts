import { EventBus, GenAiSpan, LmConfig, Predict, Signature } from "@effect-dspy/core"
import { CurrentSpanTransformer } from "@effect/ai/Telemetry"
import { assert, describe, it } from "@effect/vitest"
import { ConfigError, ConfigProvider, ConfigProviderPathPatch as PathPatch, Duration, Effect, Either, FastCheck, HashSet, Layer, Option, Redacted, Schema } from "effect"
import { EventLog, Telemetry, TelemetryConfig } from "../src/index.js"
import * as Pipeline from "../src/internal/pipeline.js"
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

  it("appends the signal path to the base endpoint, keeping its query", () => {
    assert.strictEqual(TelemetryConfig.signalUrl("http://collector:4318", "traces"), "http://collector:4318/v1/traces")
    assert.strictEqual(TelemetryConfig.signalUrl("http://collector:4318/otlp/", "metrics"), "http://collector:4318/otlp/v1/metrics")
    assert.strictEqual(
      TelemetryConfig.signalUrl("https://collector/otlp?tenant=a&key=b", "traces"),
      "https://collector/otlp/v1/traces?tenant=a&key=b"
    )
  })

  it("reads the batch processor settings and caps the batch at the queue", () => {
    const { batch, warnings } = TelemetryConfig.fromEnvironment({
      OTEL_BSP_MAX_QUEUE_SIZE: "100",
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "512",
      OTEL_BSP_SCHEDULE_DELAY: "250",
      OTEL_BSP_EXPORT_TIMEOUT: "1000"
    })
    assert.deepStrictEqual(warnings, [])
    assert.strictEqual(batch.maxQueueSize, 100)
    assert.strictEqual(batch.maxExportBatchSize, 100)
    assert.isTrue(Duration.equals(batch.scheduleDelay, Duration.millis(250)))
    assert.isTrue(Duration.equals(batch.exportTimeout, Duration.seconds(1)))
  })

  it("enumerated values are case-insensitive; a timeout of 0 means no limit", () => {
    const settings = TelemetryConfig.fromEnvironment({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
      OTEL_EXPORTER_OTLP_COMPRESSION: "GZIP",
      OTEL_EXPORTER_OTLP_PROTOCOL: "HTTP/JSON",
      OTEL_EXPORTER_OTLP_TIMEOUT: "0",
      OTEL_TRACES_SAMPLER: "ParentBased_TraceIdRatio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
      OTEL_TRACES_EXPORTER: "OTLP",
      OTEL_SDK_DISABLED: "FALSE"
    })
    assert.deepStrictEqual(settings.warnings, [])
    const otlp = settings.destinations[0]!
    assert.strictEqual(otlp.compression, "gzip")
    assert.strictEqual(otlp.protocol, "http/json")
    assert.isFalse(Duration.isFinite(otlp.timeout))
    assert.deepStrictEqual(settings.sampler, { name: "parentbased_traceidratio", ratio: 0.25 })
  })

  it("each unusable value is a warning, and the setting falls back to its default", () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, "grpc is not supported"],
      [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/xml" }, "unknown protocol"],
      [{ OTEL_EXPORTER_OTLP_COMPRESSION: "brotli" }, "expected one of gzip, none"],
      [{ OTEL_EXPORTER_OTLP_TIMEOUT: "ten" }, "expected a whole number"],
      [{ OTEL_BSP_MAX_QUEUE_SIZE: "lots" }, "expected a whole number >= 1"],
      [{ OTEL_BSP_MAX_QUEUE_SIZE: "0" }, "expected a whole number >= 1"],
      [{ OTEL_BSP_SCHEDULE_DELAY: "-5" }, "expected a whole number >= 0"],
      [{ OTEL_RESOURCE_ATTRIBUTES: "service.name=a,broken" }, "OTEL_RESOURCE_ATTRIBUTES: entry 2 is not a key=value pair; the variable is ignored"],
      [{ OTEL_EXPORTER_OTLP_HEADERS: "authorization" }, "OTEL_EXPORTER_OTLP_HEADERS: entry 1 is not a key=value pair"],
      [{ OTEL_EXPORTER_OTLP_HEADERS: "x-team=a,my header=1" }, "OTEL_EXPORTER_OTLP_HEADERS: \"my header\" is not a valid header name"],
      [{ OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-token=abc%0D%0Aevil: 1" }, "the value of header \"x-token\" holds a line break"],
      [{ OTEL_EXPORTER_OTLP_CERTIFICATE: "/etc/ssl/collector-ca.pem" }, "OTEL_EXPORTER_OTLP_CERTIFICATE is not supported here"],
      [{ OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: "/etc/ssl/client.key" }, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY is not supported here"],
      [{ OTEL_TRACES_SAMPLER: "sometimes" }, "unknown sampler"],
      [{ OTEL_TRACES_SAMPLER: "xray" }, "the xray sampler is not supported"],
      [{ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" }, "expected a ratio between 0 and 1"],
      [{ OTEL_TRACES_EXPORTER: "zipkin,otlp" }, "the \"zipkin\" exporter is not supported"],
      [{ OTEL_METRICS_EXPORTER: "prometheus" }, "the \"prometheus\" exporter is not supported"],
      [{ OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: "sometimes" }, "expected one of cumulative, delta, lowmemory"],
      [{ OTEL_SDK_DISABLED: "yes" }, "expected true or false"],
      [{ EFFECT_DSPY_CAPTURE_CONTENT: "maybe" }, "expected true or false"],
      [{ EFFECT_DSPY_TELEMETRY_SHUTDOWN_TIMEOUT: "soon" }, "expected milliseconds or a duration"],
      [{ LANGFUSE_PUBLIC_KEY: "pk-lf-1" }, "LANGFUSE_PUBLIC_KEY is set but LANGFUSE_SECRET_KEY is not"],
      [{ LANGFUSE_PUBLIC_KEY: "pk", LANGFUSE_SECRET_KEY: "sk", LANGFUSE_TRACING_ENVIRONMENT: "Prod!" }, "Langfuse accepts lower-case letters"],
      [{ LANGFUSE_PUBLIC_KEY: "pk", LANGFUSE_SECRET_KEY: "sk", LANGFUSE_BASE_URL: "cloud.langfuse" }, "not a valid http(s) URL"]
    ]
    for (const [env, message] of cases) {
      const settings = TelemetryConfig.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", ...env })
      assert.strictEqual(settings.warnings.length, 1, JSON.stringify(env))
      assert.include(settings.warnings[0], message, JSON.stringify(env))
    }
    // A malformed endpoint: a warning, and nothing is exported (there is nowhere to).
    const bad = TelemetryConfig.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" })
    assert.isFalse(bad.enabled)
    assert.include(bad.warnings[0], "OTEL_EXPORTER_OTLP_ENDPOINT=\"not a url\": it is not a valid URL")
    // A header value may be a credential: never repeated in a warning.
    const secret = TelemetryConfig.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_HEADERS: "Bearer-s3cret-token" })
    assert.notInclude(secret.warnings.join(" "), "s3cret")
  })

  it("an unusable endpoint is named in its warning without the credentials it carries", () => {
    const cases: Array<Record<string, string>> = [
      { OTEL_EXPORTER_OTLP_ENDPOINT: "grpc://tenant:pa55w0rd-abcdef@collector:4317" },
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "ftp://collector/v1/traces?api_key=pa55w0rd-abcdef" },
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "grpc://tenant:pa55w0rd-abcdef@c:4317" },
      { LANGFUSE_PUBLIC_KEY: "pk", LANGFUSE_SECRET_KEY: "sk", LANGFUSE_BASE_URL: "ftp://user:pa55w0rd-abcdef@lf.example.com" }
    ]
    for (const env of cases) {
      const { warnings } = TelemetryConfig.fromEnvironment(env)
      assert.strictEqual(warnings.length, 1, JSON.stringify(env))
      assert.notInclude(warnings[0], "pa55w0rd", JSON.stringify(env))
      assert.include(warnings[0], "[REDACTED]", JSON.stringify(env))
    }
  })

  it("nothing set, OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none: nothing is exported", () => {
    assert.isFalse(TelemetryConfig.fromEnvironment({}).enabled)
    const disabled = TelemetryConfig.fromEnvironment({
      OTEL_SDK_DISABLED: "TRUE",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
      LANGFUSE_PUBLIC_KEY: "p",
      LANGFUSE_SECRET_KEY: "s"
    })
    assert.isFalse(disabled.enabled)
    assert.strictEqual(disabled.destinations.length, 0)
    const none = TelemetryConfig.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" })
    assert.isFalse(none.enabled)
    const langfuseOff = TelemetryConfig.fromEnvironment({ LANGFUSE_PUBLIC_KEY: "p", LANGFUSE_SECRET_KEY: "s", LANGFUSE_TRACING_ENABLED: "false" })
    assert.isFalse(langfuseOff.enabled)
  })

  it("content capture is opt-in: EFFECT_DSPY_CAPTURE_CONTENT, else OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", () => {
    const capture = (env: Record<string, string>) =>
      TelemetryConfig.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", ...env }).content.capture
    assert.isFalse(capture({}))
    assert.isTrue(capture({ EFFECT_DSPY_CAPTURE_CONTENT: "true" }))
    assert.isTrue(capture({ EFFECT_DSPY_CAPTURE_CONTENT: "1" }))
    assert.isFalse(capture({ EFFECT_DSPY_CAPTURE_CONTENT: "false" }))
    assert.isTrue(capture({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "True" }))
    assert.isFalse(capture({ EFFECT_DSPY_CAPTURE_CONTENT: "false", OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "true" }))
    // A value that is not a flag warns and leaves capture off.
    const odd = TelemetryConfig.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", EFFECT_DSPY_CAPTURE_CONTENT: "maybe" })
    assert.isFalse(odd.content.capture)
    assert.isTrue(odd.warnings.some((w) => w.includes("EFFECT_DSPY_CAPTURE_CONTENT")))
  })

  it("both OTLP and Langfuse set: spans go to both, metrics to the collector", () => {
    const settings = TelemetryConfig.fromEnvironment({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "http/json",
      OTEL_METRIC_EXPORT_INTERVAL: "15000",
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: "LowMemory",
      LANGFUSE_PUBLIC_KEY: "pk",
      LANGFUSE_SECRET_KEY: "sk-lf-secret-123",
      LANGFUSE_HOST: "https://lf.example.com",
      LANGFUSE_TRACING_ENVIRONMENT: "staging",
      LANGFUSE_RELEASE: "v1.2.3"
    })
    assert.deepStrictEqual(settings.warnings, [])
    assert.deepStrictEqual(settings.destinations.map((d) => [d.name, d.url]), [
      ["otlp", "http://c:4318/v1/traces"],
      ["langfuse", "https://lf.example.com/api/public/otel/v1/traces"]
    ])
    assert.deepStrictEqual(settings.destinations[1]!.langfuse, { environment: "staging", release: "v1.2.3" })
    assert.strictEqual(settings.destinations[1]!.compression, "gzip")
    assert.strictEqual(settings.metrics?.url, "http://c:4318/v1/metrics")
    assert.strictEqual(settings.metrics?.protocol, "http/json")
    assert.strictEqual(settings.metrics?.temporality, "delta")
    assert.isTrue(Duration.equals(settings.metrics!.interval, Duration.seconds(15)))
  })
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

  it.scoped("an exporting layer installs its content sink only when it captures content; without capture a user's sink stays", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const url = `${receiver.baseUrl}/v1/traces`
      const users: GenAiSpan.ContentSink = () => {}
      const sinkUnder = (layer: Layer.Layer<Telemetry.Telemetry>) =>
        GenAiSpan.CurrentContentSink.pipe(Effect.provide(layer), Effect.provideService(GenAiSpan.CurrentContentSink, users))
      assert.strictEqual(yield* sinkUnder(Telemetry.layerOtlp({ url })), users)
      assert.strictEqual(yield* sinkUnder(Telemetry.layerOtlp({ url, content: { capture: false } })), users)
      const capturing = yield* sinkUnder(Telemetry.layerOtlp({ url, content: { capture: true } }))
      assert.isDefined(capturing)
      assert.notStrictEqual(capturing, users)
      // Without capture, spans carry no content (the user's sink sees it, the export does not).
      const seen: Array<string> = []
      yield* predictOnce.pipe(
        Effect.provide(Telemetry.layerOtlp({ url })),
        Effect.provideService(GenAiSpan.CurrentContentSink, (_span, _value, info) => {
          seen.push(`${info.span}.${info.direction}`)
        })
      )
      assert.includeMembers(seen, ["module.input", "module.output", "lm.input", "lm.output"])
      const spans = receiver.spans()
      assert.isAbove(spans.length, 0)
      for (const span of spans) {
        for (const key of Object.keys(span.attributes)) {
          assert.notInclude(["gen_ai.input.messages", "gen_ai.output.messages", "langfuse.observation.input", "langfuse.observation.output"], key)
        }
      }
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
      const spans = receiver.spans()
      for (const span of spans) {
        for (const key of ["langfuse.observation.input", "langfuse.observation.output", "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"]) {
          assert.isUndefined(span.attributes[key], `${span.name} ${key}`)
        }
      }
      assert.strictEqual(OtlpReceiver.byName(spans, "chat m").attributes["gen_ai.response.model"], "scripted-model-2025")
    }))

  it.scoped("EFFECT_DSPY_CAPTURE_CONTENT=false: an error that quotes the model's reply says only its type and frames", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const Count = Signature.make("Count", { instructions: "Count.", input: { question: Schema.String }, output: { answer: Schema.Number } })
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "the-private-reply-text" }))
      const failed = yield* Effect.either(Predict.make(Count)({ question: "the-private-question" }).pipe(
        LmConfig.withSettings({ provider: "scripted", model: "m" }),
        Effect.provide(lm.layer),
        Effect.provide(Telemetry.layerFromEnv),
        withEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl, EFFECT_DSPY_CAPTURE_CONTENT: "false" })
      ))
      // The program's own error keeps its message: only what is exported is reduced.
      assert.isTrue(Either.isLeft(failed) && failed.left.message.includes("the-private-reply-text"))
      assert.notInclude(receiver.rawText(), "the-private-reply-text")
      assert.notInclude(receiver.rawText(), "the-private-question")
      const module = OtlpReceiver.byName(receiver.spans(), "Predict(Count)")
      assert.deepStrictEqual(module.status, { code: 2, message: "OutputParseError" })
      assert.strictEqual(module.attributes["error.type"], "OutputParseError")
      const exception = module.events.find((e) => e.name === "exception")!
      assert.strictEqual(exception.attributes["exception.message"], "OutputParseError")
      assert.match(String(exception.attributes["exception.stacktrace"]), /^OutputParseError\n\s+at /)
    }))

  it.scoped("every unusable variable is logged as a warning and the program runs, exporting with the defaults", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const logs = Logs.capture()
      const bad = {
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        OTEL_EXPORTER_OTLP_COMPRESSION: "GZIP",
        OTEL_EXPORTER_OTLP_TIMEOUT: "0",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "many",
        OTEL_RESOURCE_ATTRIBUTES: "team=a,=b",
        OTEL_EXPORTER_OTLP_HEADERS: "novalue",
        OTEL_TRACES_SAMPLER: "sometimes",
        OTEL_SDK_DISABLED: "nope",
        EFFECT_DSPY_CONTENT_MAX_LENGTH: "-1"
      }
      const prediction = yield* predictOnce.pipe(
        Effect.provide(Telemetry.layerFromEnv),
        Effect.provide(logs.layer),
        withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.baseUrl}/otlp?tenant=t1`, ...bad })
      )
      assert.strictEqual(prediction.output.answer, "4")
      const warnings = logs.lines.filter((l) => l.level === "WARN" && l.message.startsWith("telemetry: ")).map((l) => l.message)
      for (const name of Object.keys(bad).filter((n) => n !== "OTEL_EXPORTER_OTLP_COMPRESSION" && n !== "OTEL_EXPORTER_OTLP_TIMEOUT")) {
        assert.isTrue(warnings.some((w) => w.includes(name)), `no warning for ${name}: ${warnings.join(" | ")}`)
      }
      assert.strictEqual(warnings.length, 7)
      // Exported anyway: protobuf (the default), gzipped (the enum read case-insensitively), the base
      // endpoint's query kept.
      const request = receiver.requests[0]!
      assert.strictEqual(request.path, "/otlp/v1/traces?tenant=t1")
      assert.strictEqual(request.headers["content-type"], "application/x-protobuf")
      assert.strictEqual(request.headers["content-encoding"], "gzip")
      assert.strictEqual(receiver.spans().length, 2)
    }))

  it.scoped("a header list fetch would refuse is ignored with a warning: exports are not failed as if the network were down", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const logs = Logs.capture()
      yield* predictOnce.pipe(
        Effect.provide(Telemetry.layerFromEnv),
        Effect.provide(logs.layer),
        withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.baseUrl, OTEL_EXPORTER_OTLP_HEADERS: "x-team=a,bad name=secret-value-123" })
      )
      assert.include(logs.text(), "OTEL_EXPORTER_OTLP_HEADERS: \"bad name\" is not a valid header name; the variable is ignored")
      assert.notInclude(logs.text(), "secret-value-123")
      assert.strictEqual(receiver.spans().length, 2)
      assert.isUndefined(receiver.requests[0]!.headers["x-team"])
    }))

  it.scoped("a configuration that cannot be read at all is a warning: nothing is exported, the program runs", () =>
    Effect.gen(function*() {
      const logs = Logs.capture()
      const failing = ConfigProvider.makeFlat({
        load: (path) => Effect.fail(ConfigError.InvalidData([...path], "the secret store is unreachable")),
        enumerateChildren: () => Effect.succeed(HashSet.empty()),
        patch: PathPatch.empty
      })
      const prediction = yield* predictOnce.pipe(
        Effect.provide(Telemetry.layerFromEnv),
        Effect.provide(logs.layer),
        Effect.withConfigProvider(ConfigProvider.fromFlat(failing))
      )
      assert.strictEqual(prediction.output.answer, "4")
      assert.include(logs.text(), "telemetry: the configuration could not be read")
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
          LANGFUSE_BASE_URL: langfuse.baseUrl,
          // With content on, the prompts (which quote the keys) are exported: redacted.
          EFFECT_DSPY_CAPTURE_CONTENT: "true"
        })
      )
      assert.isAbove(otlp.spans().length, 0)
      assert.isAbove(langfuse.spans().length, 0)
      const failed = otlp.spans().find((s) => s.name === "chat m" && s.status.code === 2)
      assert.isDefined(failed) // the failing LM call is exported, with its error scrubbed
      assert.include(JSON.stringify(failed), "[REDACTED]")
      // Core hands the prompt of a failed call to the sink too.
      assert.include(String(failed!.attributes["gen_ai.input.messages"]), "hello")
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
      destinations: [TelemetryConfig.otlpDestination({ url: "http://c/v1/traces", headers: { authorization: "Bearer abcdefgh12345678" } })],
      secrets: [Redacted.make(openAiKey)]
    })
    assert.notInclude(JSON.stringify(settings), "abcdefgh12345678")
    assert.notInclude(String(Option.some(settings)), openAiKey)
  })
})

describe("batch processor options", () => {
  it("delays beyond a timer's range are capped (Node would fire them at once)", () => {
    const { batch } = TelemetryConfig.fromEnvironment({ OTEL_BSP_SCHEDULE_DELAY: "4000000000", OTEL_BSP_EXPORT_TIMEOUT: "0" })
    const options = Pipeline.processorOptions(batch)
    assert.strictEqual(options.scheduledDelayMillis, 2 ** 31 - 1)
    assert.strictEqual(options.exportTimeoutMillis, 2 ** 31 - 1)
    assert.deepStrictEqual(Pipeline.processorOptions(TelemetryConfig.defaultBatch), {
      maxQueueSize: 2048,
      maxExportBatchSize: 512,
      scheduledDelayMillis: 5000,
      exportTimeoutMillis: 30000
    })
  })
})
