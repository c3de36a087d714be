import { LmConfig, Predict, Signature, StreamPredict } from "@effect-dspy/core"
import { assert, describe, it } from "@effect/vitest"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { defaultResource } from "@opentelemetry/resources"
import { ConfigProvider, Deferred, Duration, Effect, Fiber, Tracer } from "effect"
import * as TestClock from "effect/TestClock"
import { Telemetry, TelemetryConfig } from "../src/index.js"
import * as Metrics from "../src/internal/metrics.js"
import * as Logs from "./utils/Logs.js"
import * as OtlpReceiver from "./utils/OtlpReceiver.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const QA = Signature.fromString("question -> answer")
const settings = LmConfig.withSettings({ provider: "scripted", model: "gpt-test" })

/** Two calls (one streamed, one failing) of 2 s each on the TestClock, under `layerFromEnv`. */
const run = (env: Record<string, string>) =>
  Effect.gen(function*() {
    const lm = ScriptedLm.make(
      (_prompt, call) => (call === 3 ? ScriptedLm.httpError("overloaded") : ScriptedLm.reply({ answer: "4" })),
      { delay: Duration.seconds(2) }
    )
    const fiber = yield* Effect.fork(
      Effect.gen(function*() {
        yield* Predict.make(QA)({ question: "2+2?" })
        yield* StreamPredict.final(StreamPredict.stream(QA, { question: "3+1?" }))
        yield* Effect.ignore(Predict.make(QA)({ question: "fails" }))
      }).pipe(settings, Effect.provide(lm.layer), Effect.provide(Telemetry.layerFromEnv), Effect.withConfigProvider(ConfigProvider.fromJson(env)))
    )
    for (let i = 0; i < 10; i++) yield* TestClock.adjust(Duration.seconds(1))
    yield* Fiber.join(fiber)
  })

describe("GenAI metrics over OTLP", () => {
  it.scoped("token usage, operation duration and time to first chunk reach the collector with their required attributes", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      yield* run({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.baseUrl, OTEL_EXPORTER_OTLP_METRICS_HEADERS: "x-tenant=t1" })
      const metricsRequest = receiver.requests.find((r) => r.path === "/v1/metrics")!
      assert.strictEqual(metricsRequest.headers["x-tenant"], "t1")
      assert.strictEqual(metricsRequest.headers["content-type"], "application/x-protobuf")
      const points = receiver.metrics()
      const tokens = points.filter((p) => p.name === "gen_ai.client.token.usage")
      assert.deepStrictEqual(tokens.map((p) => p.attributes["gen_ai.token.type"]).sort(), ["input", "output"])
      for (const point of tokens) {
        assert.strictEqual(point.kind, "histogram")
        assert.strictEqual(point.unit, "{token}")
        assert.strictEqual(point.temporality, 2) // cumulative, the default
        assert.strictEqual(point.attributes["gen_ai.operation.name"], "chat")
        assert.strictEqual(point.attributes["gen_ai.provider.name"], "scripted")
        assert.strictEqual(point.attributes["gen_ai.request.model"], "gpt-test")
        assert.strictEqual(point.attributes["gen_ai.response.model"], "scripted-model-2025")
        assert.strictEqual(point.count, 2) // the failed call reports no usage
        assert.strictEqual(point.bounds[0], 1)
      }
      assert.strictEqual(tokens.find((p) => p.attributes["gen_ai.token.type"] === "input")!.sum, 20)

      const durations = points.filter((p) => p.name === "gen_ai.client.operation.duration")
      assert.strictEqual(durations[0]!.unit, "s")
      const ok = durations.find((p) => p.attributes["error.type"] === undefined)!
      assert.strictEqual(ok.count, 2)
      assert.strictEqual(ok.sum, 4) // two calls of 2 s on the TestClock
      assert.deepStrictEqual(ok.bounds.slice(0, 2), [0.01, 0.02])
      const failed = durations.find((p) => p.attributes["error.type"] !== undefined)!
      assert.strictEqual(failed.attributes["error.type"], "HttpResponseError")
      assert.strictEqual(failed.count, 1)

      const firstChunk = points.filter((p) => p.name === "gen_ai.client.operation.time_to_first_chunk")
      assert.strictEqual(firstChunk.length, 1)
      assert.strictEqual(firstChunk[0]!.count, 1)
      assert.strictEqual(firstChunk[0]!.sum, 2)

      // The program's Effect metrics go along (the telemetry's own counters among them).
      assert.isTrue(points.some((p) => p.name === "effect_dspy_telemetry_spans_exported_total"))
    }))

  it.scoped("metrics do not depend on trace sampling; delta temporality on request", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      yield* run({
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.baseUrl,
        OTEL_TRACES_SAMPLER: "always_off",
        OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: "delta"
      })
      assert.strictEqual(receiver.spans().length, 0)
      const tokens = receiver.metrics().filter((p) => p.name === "gen_ai.client.token.usage")
      assert.strictEqual(tokens.length, 2)
      for (const point of tokens) assert.strictEqual(point.temporality, 1)
    }))

  it.scoped("OTEL_METRICS_EXPORTER=none: spans only", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      yield* run({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.baseUrl, OTEL_METRICS_EXPORTER: "none" })
      assert.isAbove(receiver.spans().length, 0)
      assert.strictEqual(receiver.requests.filter((r) => r.path === "/v1/metrics").length, 0)
    }))
})

describe("metrics alone (OTEL_TRACES_EXPORTER=none)", () => {
  const sampledInside = (env: Record<string, string>, parent?: Tracer.ExternalSpan) =>
    Effect.map(Effect.currentSpan, (span) => span.sampled).pipe(
      Effect.withSpan("request"),
      (self) => (parent === undefined ? self : Effect.withParentSpan(self, parent)),
      Effect.provide(Telemetry.layerFromEnv),
      Effect.withConfigProvider(ConfigProvider.fromJson(env))
    )

  it.scoped("the sampler still decides the sampled flag that outgoing traceparent headers carry", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.baseUrl, OTEL_TRACES_EXPORTER: "none" }
      // The default, parentbased_always_on: a root is sampled, as is the child of a sampled remote parent.
      assert.isTrue(yield* sampledInside(env))
      const remote = (sampled: boolean) =>
        Tracer.externalSpan({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", sampled })
      assert.isTrue(yield* sampledInside(env, remote(true)))
      assert.isFalse(yield* sampledInside(env, remote(false)))
      assert.isFalse(yield* sampledInside({ ...env, OTEL_TRACES_SAMPLER: "always_off" }))
      assert.strictEqual(receiver.spans().length, 0)
    }))
})

describe("metrics export timing", () => {
  const metricsOf = (env: Record<string, string>) => TelemetryConfig.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", ...env }).metrics!

  it("an export never outlives the reader's wait for it, so exports to a hung collector cannot pile up", () => {
    const cases: Array<Record<string, string>> = [
      {},
      { OTEL_METRIC_EXPORT_INTERVAL: "5000" },
      { OTEL_METRIC_EXPORT_INTERVAL: "1000", OTEL_METRIC_EXPORT_TIMEOUT: "0", OTEL_EXPORTER_OTLP_TIMEOUT: "0" },
      { OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: "0" }
    ]
    for (const env of cases) {
      const { exportTimeoutMillis, intervalMillis, target } = Metrics.timingsOf(metricsOf(env))
      assert.isTrue(Duration.isFinite(target.timeout), JSON.stringify(env))
      assert.isAtMost(Duration.toMillis(target.timeout), exportTimeoutMillis, JSON.stringify(env))
      assert.isAtMost(exportTimeoutMillis, intervalMillis, JSON.stringify(env))
    }
    assert.strictEqual(Duration.toMillis(Metrics.timingsOf(metricsOf({ OTEL_METRIC_EXPORT_INTERVAL: "5000" })).target.timeout), 5000)
  })

  it("an interval beyond what a timer can hold is capped (Node would fire it every millisecond)", () => {
    const { intervalMillis } = Metrics.timingsOf(metricsOf({ OTEL_METRIC_EXPORT_INTERVAL: "4000000000" }))
    assert.strictEqual(intervalMillis, 2 ** 31 - 1)
  })
})

describe("Telemetry.layerOtlp({ metrics: true })", () => {
  it.scoped("a traces URL without /v1/traces: a warning says no metrics are exported, instead of silence", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const logs = Logs.capture()
      yield* Effect.void.pipe(
        Effect.withSpan("work"),
        Effect.provide(Telemetry.layerOtlp({ url: `${receiver.baseUrl}/ingest/traces`, metrics: true })),
        Effect.provide(logs.layer)
      )
      assert.include(logs.text(), "has no /v1/traces")
      assert.deepStrictEqual(receiver.spans().map((s) => s.name), ["work"])
    }))
})

describe("metrics at shutdown", () => {
  // Live clock: the metric reader's interval is the SDK's own timer.
  it.scopedLive("stop() ends the reader's interval: a shutdown that ran out of its budget leaves nothing running", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const client = yield* Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer)
      const closing = yield* Deferred.make<void>()
      let exports = 0
      const settings = TelemetryConfig.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.baseUrl, OTEL_METRIC_EXPORT_INTERVAL: "20" }).metrics!
      const metrics = yield* Metrics.make(settings, defaultResource(), "0.0.0", {
        client,
        closing,
        hooks: { failed: () => {} },
        fork: (effect) => {
          exports++
          return Effect.runFork(effect)
        }
      })
      // The reader exports on its own, every interval...
      yield* Effect.sleep("200 millis")
      assert.isAbove(exports, 0)
      // ...until stopped: then once more at most (the shutdown's last export), not every interval.
      metrics.stop()
      const atStop = exports
      yield* Effect.sleep("200 millis")
      assert.isAtMost(exports, atStop + 1)
      yield* Effect.promise(() => metrics.shutdown())
    }))
})
