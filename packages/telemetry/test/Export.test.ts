import { LmConfig, Predict, Signature } from "@effect-dspy/core"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Metric, Option } from "effect"
import * as TestClock from "effect/TestClock"
import * as http from "node:http"
import type * as net from "node:net"
import { Telemetry } from "../src/index.js"
import * as Transport from "../src/internal/transport.js"
import * as Logs from "./utils/Logs.js"
import { decodeProtobuf } from "./utils/OtlpDecode.js"
import * as OtlpReceiver from "./utils/OtlpReceiver.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

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

/** Runs `effect` in a fiber, moving the TestClock on a second at a time until it is done. */
const driveClock = <A, E>(effect: Effect.Effect<A, E>, maxSeconds = 100) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < maxSeconds && Option.isNone(yield* Fiber.poll(fiber)); i++) {
      yield* TestClock.adjust(Duration.seconds(1))
      // A few real milliseconds for loopback I/O between steps.
      yield* Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 5)))
    }
    return yield* Fiber.join(fiber)
  })

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
      assert.include(logs.text(), "telemetry: export of 2 spans to otlp failed: HTTP 503")
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

  it.scoped("a partial success counts the rejected spans as failed", () =>
    Effect.gen(function*() {
      // ExportTraceServiceResponse { partial_success (1) { rejected_spans (1) = 1, error_message (2) = "too big" } }
      const body = Uint8Array.from([0x0a, 0x0b, 0x08, 0x01, 0x12, 0x07, ...Buffer.from("too big")])
      const receiver = yield* OtlpReceiver.make(() => ({ status: 200, body }))
      const logs = Logs.capture()
      const { telemetry } = yield* runPredict(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet })).pipe(Effect.provide(logs.layer))
      const [stats] = yield* telemetry.stats
      assert.strictEqual(stats!.exported, 1)
      assert.strictEqual(stats!.failed, 1)
      assert.include(logs.text(), "rejected 1 spans: too big")
    }))

  it.scoped("collector down: the program's result is unaffected and the failure is logged", () =>
    Effect.gen(function*() {
      const url = yield* OtlpReceiver.closedPortUrl
      const logs = Logs.capture()
      // A short deadline: the first backoff (about 1 s) does not fit, so the exporter gives up.
      const { answer, telemetry } = yield* runPredict(Telemetry.layerOtlp({ url, timeout: Duration.millis(300), ...quiet })).pipe(
        Effect.provide(logs.layer)
      )
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
      assert.isBelow(request.raw.length, request.body.length + 64)
      assert.deepStrictEqual(decodeProtobuf(request.body).map((s) => s.name), ["zipped"])
    }))

  it.scoped("the transport: a retry that would land after the deadline is not made; interrupting ends a pending retry at once", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make(() => ({ status: 503, headers: { "retry-after": "5" } }))
      const client = yield* Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer)
      const target = (timeout: Duration.Duration): Transport.Target => ({
        url: receiver.tracesUrl,
        headers: {},
        contentType: "application/x-protobuf",
        compression: "none",
        timeout
      })
      const data = new Uint8Array([1, 2, 3])
      // Retry-After 5 s does not fit a deadline of 1 s.
      const first = yield* Transport.send(client, target(Duration.seconds(1)), data)
      assert.deepStrictEqual(first, { _tag: "Failed", reason: "HTTP 503", attempts: 1 })
      assert.strictEqual(receiver.requests.length, 1)
      // Within a 10 s deadline the retry waits 5 s (on the TestClock); interrupting ends the wait.
      const pending = yield* Effect.fork(Transport.send(client, target(Duration.seconds(10)), data))
      yield* receiver.awaitRequests(2)
      yield* Fiber.interrupt(pending)
      yield* TestClock.adjust(Duration.seconds(10))
      assert.strictEqual(receiver.requests.length, 2)
    }))
  // A real socket is the point: the collector closes the connection under the request, as one
  // does when a kept-alive connection it has just timed out is reused.
  it.live("a connection closed under the request is retried at once on a fresh one, even while the layer is closing", () =>
    Effect.gen(function*() {
      let requests = 0
      const server = http.createServer((request, response) => {
        requests++
        if (requests === 1) return void request.socket.destroy()
        request.resume()
        request.on("end", () => response.writeHead(200, { "content-type": "application/x-protobuf" }).end())
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => server.close())
      )
      const { port } = server.address() as net.AddressInfo
      const client = yield* Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer)
      const closing = yield* Deferred.make<void>()
      yield* Deferred.succeed(closing, undefined)
      const outcome = yield* Transport.send(client, {
        url: `http://127.0.0.1:${port}/v1/traces`,
        headers: {},
        contentType: "application/x-protobuf",
        compression: "none",
        timeout: Duration.seconds(10)
      }, new Uint8Array([1, 2, 3]), { closing })
      assert.strictEqual(outcome._tag, "Accepted")
      assert.strictEqual(requests, 2)
    }).pipe(Effect.scoped))
})

describe("bounded queue and shutdown", () => {
  it.scoped("an export waiting to retry when the layer closes makes no further attempt: the program exits at once", () =>
    Effect.gen(function*() {
      // Every answer asks for a retry in 2 s, well within the export's 10 s deadline.
      const receiver = yield* OtlpReceiver.make(() => ({ status: 503, headers: { "retry-after": "2" } }))
      const logs = Logs.capture()
      const layer = Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet, shutdownTimeout: Duration.minutes(1) })
      // Done without moving the TestClock: neither the retry's wait nor the budget holds the exit.
      const telemetry = yield* Effect.gen(function*() {
        const telemetry = yield* Telemetry.Telemetry
        yield* Effect.withSpan(Effect.void, "work")
        // The export starts before the layer closes, and is waiting for its retry when it does.
        yield* Effect.fork(telemetry.flush)
        yield* receiver.awaitRequests(1)
        return telemetry
      }).pipe(Effect.provide(layer), Effect.provide(logs.layer))
      const [stats] = yield* telemetry.stats
      assert.deepStrictEqual({ inFlight: stats!.inFlight, exported: stats!.exported, failed: stats!.failed }, { inFlight: 0, exported: 0, failed: 1 })
      assert.strictEqual(receiver.requests.length, 1)
    }))

  it.scoped("an export in flight when the shutdown's budget runs out is abandoned at once", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make(() => "stall")
      const logs = Logs.capture()
      const layer = Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet, shutdownTimeout: Duration.seconds(3) })
      const telemetry = yield* driveClock(
        Effect.zipLeft(Telemetry.Telemetry, Effect.withSpan(Effect.void, "work")).pipe(Effect.provide(layer), Effect.provide(logs.layer))
      )
      // Closed on the TestClock's 3 s: the request was cut, nothing keeps the process alive.
      const [stats] = yield* telemetry.stats
      assert.deepStrictEqual({ inFlight: stats!.inFlight, exported: stats!.exported, failed: stats!.failed }, { inFlight: 0, exported: 0, failed: 1 })
      assert.include(logs.text(), "telemetry: shutdown did not finish within 3s")
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

  it.scoped("the shutdown summary counts spans: one failed batch of three, two slower batches still exported within the budget", () =>
    Effect.gen(function*() {
      // The first request fails at once; the others answer after a (real) 300 ms.
      const receiver = yield* OtlpReceiver.make((_r, i) => (i === 0 ? { status: 400 } : { status: 200, delayMillis: 300 }))
      const logs = Logs.capture()
      const telemetry = yield* Effect.gen(function*() {
        yield* Effect.forEach(Array.from({ length: 9 }, (_, i) => i), (i) => Effect.withSpan(Effect.void, `work-${i}`), { discard: true })
        return yield* Telemetry.Telemetry
      }).pipe(
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, batch: { scheduleDelay: Duration.hours(1), maxExportBatchSize: 3 } })),
        Effect.provide(logs.layer)
      )
      const [stats] = yield* telemetry.stats
      assert.deepStrictEqual(
        { exported: stats!.exported, dropped: stats!.dropped, failed: stats!.failed, queued: stats!.queued, inFlight: stats!.inFlight },
        { exported: 6, dropped: 0, failed: 3, queued: 0, inFlight: 0 }
      )
      assert.include(logs.text(), "telemetry: otlp: 6 spans exported, 0 dropped, 3 failed")
      assert.notInclude(logs.text(), "did not finish")
    }))

  it.scoped("a destination that is failing when the layer closes gets no final flush: the shutdown does not wait", () =>
    Effect.gen(function*() {
      // The first export fails; then the collector hangs.
      const receiver = yield* OtlpReceiver.make((_r, i) => (i === 0 ? { status: 400 } : "stall"))
      const logs = Logs.capture()
      const program = Effect.gen(function*() {
        const telemetry = yield* Telemetry.Telemetry
        yield* Effect.withSpan(Effect.void, "first")
        yield* telemetry.flush
        yield* Effect.forEach([1, 2, 3], (i) => Effect.withSpan(Effect.void, `later-${i}`), { discard: true })
        return telemetry
      }).pipe(
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet, shutdownTimeout: Duration.minutes(1) })),
        Effect.provide(logs.layer)
      )
      // Done without moving the TestClock: the minute's budget is not waited for.
      const telemetry = yield* program
      const [stats] = yield* telemetry.stats
      assert.strictEqual(receiver.requests.length, 1)
      assert.deepStrictEqual({ exported: stats!.exported, failed: stats!.failed, dropped: stats!.dropped }, { exported: 0, failed: 4, dropped: 0 })
      assert.include(logs.text(), "telemetry: otlp: 0 spans exported, 0 dropped, 4 failed")
    }))

  it.scoped("a collector that is down when the layer closes: one attempt per batch, no backoff holds the exit", () =>
    Effect.gen(function*() {
      const url = yield* OtlpReceiver.closedPortUrl
      // Done without moving the TestClock: no retry waits for it.
      const telemetry = yield* Effect.zipLeft(Telemetry.Telemetry, Effect.withSpan(Effect.void, "work")).pipe(
        Effect.provide(Telemetry.layerOtlp({ url, ...quiet }))
      )
      const [stats] = yield* telemetry.stats
      assert.deepStrictEqual({ exported: stats!.exported, failed: stats!.failed }, { exported: 0, failed: 1 })
    }))

  it.scoped("failing exports do not pile up: spans in exports stay under the queue plus one batch", () =>
    Effect.gen(function*() {
      // Every export fails after a (real) 30 ms.
      const receiver = yield* OtlpReceiver.make(() => ({ status: 400, delayMillis: 30 }))
      const layer = Telemetry.layerOtlp({ url: receiver.tracesUrl, batch: { maxQueueSize: 8, maxExportBatchSize: 4, scheduleDelay: Duration.hours(1) } })
      const telemetry = yield* Effect.gen(function*() {
        for (let i = 0; i < 40; i++) {
          yield* Effect.forEach(Array.from({ length: 8 }, (_, j) => j), (j) => Effect.withSpan(Effect.void, `s-${i}-${j}`), { discard: true })
          yield* Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 10)))
        }
        return yield* Telemetry.Telemetry
      }).pipe(Effect.provide(layer))
      const [stats] = yield* telemetry.stats
      assert.isAtMost(stats!.peakInFlight, 8 + 4)
      assert.strictEqual(stats!.exported + stats!.dropped + stats!.failed + stats!.queued + stats!.inFlight, 320)
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
      const { result, telemetry } = yield* driveClock(
        Effect.gen(function*() {
          const telemetry = yield* Telemetry.Telemetry
          yield* Effect.forEach(Array.from({ length: 300 }, (_, i) => i), (i) => Effect.withSpan(Effect.succeed(i), "flood"), { discard: true })
          return { telemetry, result: "done" }
        }).pipe(Effect.provide(layer), Effect.provide(logs.layer))
      )
      assert.strictEqual(result, "done")
      const [stats] = yield* telemetry.stats
      // The first batch of 4 went to the (stalled) exporter, 16 queued, the rest dropped.
      assert.strictEqual(stats!.dropped, 300 - 4 - 16)
      assert.isAtMost(stats!.peakQueued, 16)
      assert.strictEqual(stats!.failed, 20)
      assert.strictEqual((yield* Metric.value(dropped)).count - droppedBefore, stats!.dropped)
      assert.include(logs.text(), "telemetry: shutdown did not finish within 5s")
      assert.include(logs.text(), "280 dropped")
      assert.include(logs.text(), "telemetry: the export queue for flood is full (16 spans)")
    }))
})
