import { LmConfig, Predict, Signature } from "@effect-dspy/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Metric, Option } from "effect"
import * as TestClock from "effect/TestClock"
import { Telemetry } from "../src/index.js"
import * as Logs from "./utils/Logs.js"
import * as OtlpReceiver from "./utils/OtlpReceiver.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"
import * as Transport from "../src/internal/transport.js"
import { decodeProtobuf } from "./utils/OtlpDecode.js"
import * as zlib from "node:zlib"

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

describe("requests", () => {
  it.scoped("gzip: the body is compressed and says so; headers and user agent are sent", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      yield* Effect.withSpan(Effect.void, "zipped").pipe(
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, compression: "gzip", headers: { "x-team": "a" }, ...quiet }))
      )
      const request = receiver.requests[0]!
      assert.strictEqual(request.headers["content-encoding"], "gzip")
      assert.strictEqual(request.headers["content-type"], "application/x-protobuf")
      assert.strictEqual(request.headers["x-team"], "a")
      assert.include(String(request.headers["user-agent"]), "effect-dspy-telemetry")
      assert.deepStrictEqual(decodeProtobuf(zlib.gunzipSync(request.body)).map((s) => s.name), ["zipped"])
    }))
})

describe("bounded queue and shutdown", () => {
  it.scoped("an export in flight when shutdown runs out of budget is abandoned at once, retry timer and all", () =>
    Effect.gen(function*() {
      // Every answer asks for a retry in 2 s (real time), well within the export's 10 s deadline.
      const receiver = yield* OtlpReceiver.make(() => ({ status: 503, headers: { "retry-after": "2" } }))
      const logs = Logs.capture()
      const layer = Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet, shutdownTimeout: Duration.seconds(3) })
      const fiber = yield* Effect.fork(
        Effect.zipLeft(Telemetry.Telemetry, Effect.withSpan(Effect.void, "work")).pipe(
          Effect.provide(layer),
          Effect.provide(logs.layer)
        )
      )
      // The span is exported when the layer closes; once the collector has the request, the
      // export is in flight (awaiting the answer or the retry timer) and only the budget is left.
      yield* receiver.awaitRequests(1)
      for (let i = 0; i < 10 && Option.isNone(yield* Fiber.poll(fiber)); i++) {
        yield* TestClock.adjust(Duration.seconds(1))
        yield* Effect.yieldNow()
      }
      const telemetry = yield* Fiber.join(fiber)
      // Closed on the TestClock's 3 s: what was in flight has failed already, so nothing is left
      // to keep the process alive until the 10 s deadline.
      const [stats] = yield* telemetry.stats
      assert.strictEqual(stats!.inFlight, 0)
      assert.strictEqual(stats!.exported, 0)
      assert.strictEqual(stats!.failed, 1)
      assert.include(logs.text(), "telemetry: shutdown did not finish within 3s")
    }))

  it.scoped("the transport: a retry that would land after a capped deadline is not made; abandon ends a pending retry", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make(() => ({ status: 503, headers: { "retry-after": "5" } }))
      const make = () => Transport.make({ url: receiver.tracesUrl, headers: () => ({}), compression: "none", userAgent: "test" })
      const data = new Uint8Array([1, 2, 3])
      // Retry-After 5 s fits the 10 s deadline but not the cap (a shutdown budget of 1 s).
      const capped = make()
      capped.capDeadline(Date.now() + 1000)
      const first = yield* Effect.promise(() => capped.send(data, 10_000))
      assert.strictEqual(first.status, "retryable")
      assert.strictEqual(receiver.requests.length, 1)
      // Uncapped, the retry waits 5 s; abandoning ends it at once.
      const open = make()
      const pending = open.send(data, 10_000)
      yield* receiver.awaitRequests(2)
      open.abandon()
      const second = yield* Effect.promise(() => pending)
      assert.strictEqual(second.status, "failure")
      assert.include(second.status === "failure" ? second.error.message : "", "abandoned")
      assert.strictEqual(receiver.requests.length, 2)
      capped.shutdown()
    }))

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
