import { LmConfig, Predict, Signature } from "@effect-dspy/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Metric, Option } from "effect"
import * as TestClock from "effect/TestClock"
import { Telemetry } from "../src/index"
import * as Logs from "./utils/Logs"
import * as OtlpReceiver from "./utils/OtlpReceiver"
import * as ScriptedLm from "./utils/ScriptedLm"

const QA = Signature.fromString("question -> answer")
const lm = () => ScriptedLm.make(() => ScriptedLm.reply({ answer: "42" }))
const quiet = { batch: { scheduleDelay: Duration.hours(1) } }

/** One Predict call under the telemetry layer; returns its answer and the telemetry service. */
const runPredict = (layer: ReturnType<typeof Telemetry.layerOtlp>) =>
  Effect.gen(function*() {
    const telemetry = yield* Telemetry.Telemetry
    const prediction = yield* Predict.make(QA)({ question: "six times seven?" })
    yield* telemetry.flush
    return { answer: prediction.output.answer, telemetry }
  }).pipe(
    LmConfig.withSettings({ provider: "scripted", model: "m" }),
    Effect.provide(lm().layer),
    Effect.provide(layer)
  )

describe("export failures never reach the program", () => {
  it.scoped("503 with Retry-After: 0 is retried as the OTLP spec allows, then counted as failed", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make(() => ({ status: 503, headers: { "retry-after": "0" } }))
      const logs = Logs.capture()
      const { answer, telemetry } = yield* runPredict(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet })).pipe(
        Effect.provide(logs.layer)
      )
      assert.strictEqual(answer, "42")
      // One request and the exporter's 5 retries.
      assert.strictEqual(receiver.requests.length, 6)
      const [stats] = yield* telemetry.stats
      assert.strictEqual(stats!.exported, 0)
      assert.strictEqual(stats!.failed, 2) // Predict and chat
      assert.include(logs.text(), "telemetry: export of 2 spans to otlp failed")
    }))

  it.scoped("502 then 200: retried once, then accepted", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make((_r, i) => (i === 0 ? { status: 502, headers: { "retry-after": "0" } } : { status: 200 }))
      const { answer, telemetry } = yield* runPredict(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet }))
      assert.strictEqual(answer, "42")
      assert.strictEqual(receiver.requests.length, 2)
      const [stats] = yield* telemetry.stats
      assert.strictEqual(stats!.exported, 2)
      assert.strictEqual(stats!.failed, 0)
    }))

  it.scoped("a Retry-After beyond the export deadline is honoured: no retry", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make(() => ({ status: 429, headers: { "retry-after": "3600" } }))
      const { answer, telemetry } = yield* runPredict(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet }))
      assert.strictEqual(answer, "42")
      assert.strictEqual(receiver.requests.length, 1)
      const [stats] = yield* telemetry.stats
      assert.strictEqual(stats!.failed, 2)
    }))

  it.scoped("400 is not retried", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make(() => ({ status: 400 }))
      const logs = Logs.capture()
      const { answer, telemetry } = yield* runPredict(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet })).pipe(
        Effect.provide(logs.layer)
      )
      assert.strictEqual(answer, "42")
      assert.strictEqual(receiver.requests.length, 1)
      const [stats] = yield* telemetry.stats
      assert.strictEqual(stats!.failed, 2)
      assert.include(logs.text(), "HTTP 400")
    }))

  it.scoped("collector down: the program's result is unaffected and the failure is logged", () =>
    Effect.gen(function*() {
      const url = yield* OtlpReceiver.closedPortUrl
      const logs = Logs.capture()
      // A short deadline: the first backoff (about 1 s) does not fit, so the exporter gives up.
      const { answer, telemetry } = yield* runPredict(
        Telemetry.layerOtlp({ url, timeout: Duration.millis(300), ...quiet })
      ).pipe(Effect.provide(logs.layer))
      assert.strictEqual(answer, "42")
      const [stats] = yield* telemetry.stats
      assert.strictEqual(stats!.failed, 2)
      assert.include(logs.text(), "ECONNREFUSED")
    }))
})

describe("bounded queue and shutdown", () => {
  it.scoped("shutdown exports what is queued when the layer's scope closes", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const before = yield* Effect.gen(function*() {
        yield* Effect.forEach([1, 2, 3], (i) => Effect.withSpan(Effect.void, `work-${i}`), { discard: true })
        // The schedule delay is an hour and the batch is not full: nothing was sent yet.
        return receiver.requests.length
      }).pipe(Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet })))
      assert.strictEqual(before, 0)
      assert.deepStrictEqual(receiver.spans().map((s) => s.name).sort(), ["work-1", "work-2", "work-3"])
    }))

  it.scoped("a flood against a stalled collector: the queue stays bounded, drops are counted, shutdown ends at its timeout", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make(() => "stall")
      const logs = Logs.capture()
      const dropped = Metric.tagged(Telemetry.spansDropped, "destination", "flood")
      const droppedBefore = (yield* Metric.value(dropped)).count
      const layer = Telemetry.layerOtlp({
        url: receiver.tracesUrl,
        name: "flood",
        batch: { maxQueueSize: 16, maxExportBatchSize: 4, scheduleDelay: Duration.hours(1) },
        shutdownTimeout: Duration.seconds(5)
      })
      const program = Effect.gen(function*() {
        const telemetry = yield* Telemetry.Telemetry
        yield* Effect.forEach(Array.from({ length: 300 }, (_, i) => i), (i) => Effect.withSpan(Effect.succeed(i), "flood"), {
          discard: true
        })
        return { telemetry, result: "done" }
      }).pipe(Effect.provide(layer), Effect.provide(logs.layer))
      const fiber = yield* Effect.fork(program)
      // Shutdown waits on a collector that never answers; only its timeout (on the TestClock) ends it.
      for (let i = 0; i < 100 && Option.isNone(yield* Fiber.poll(fiber)); i++) {
        yield* TestClock.adjust(Duration.seconds(5))
        yield* Effect.yieldNow()
      }
      const { result, telemetry } = yield* Fiber.join(fiber)
      assert.strictEqual(result, "done")
      const [stats] = yield* telemetry.stats
      // The first batch of 4 went to the (stalled) exporter, 16 queued, the rest dropped.
      assert.strictEqual(stats!.dropped, 300 - 4 - 16)
      assert.isAtMost(stats!.peakQueued, 16)
      assert.strictEqual((yield* Metric.value(dropped)).count - droppedBefore, stats!.dropped)
      assert.include(logs.text(), "telemetry: shutdown did not finish within 5s")
      assert.include(logs.text(), "280 dropped")
      assert.include(logs.text(), "telemetry: the export queue for flood is full (16 spans)")
    }))
})
