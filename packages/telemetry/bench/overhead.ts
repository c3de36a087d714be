/**
 * Tracing overhead: the same Predict workload over the in-process simulator (zero latency)
 * three ways: tracing off (`Telemetry.layer` without destinations, which is what
 * `layerFromEnv` is with nothing set), exporting every span to a loopback OTLP receiver, and
 * exporting to a receiver that is down. Rounds are interleaved and the median is reported, as
 * throughput (calls per wall-clock second) and as CPU time per call; on a shared machine the
 * CPU figure is the steadier one. A round's window runs from the workload's start until the
 * layer has shut down, so the export work (serialization, HTTP, the final flush) is charged to
 * the mode that caused it.
 *
 * Two scenarios. "saturated": calls back to back. With a zero-latency model the process never
 * waits on I/O; Effect's scheduler runs fibers in microtasks and Node's event loop (timers,
 * sockets) barely turns, so no exporter can send during the run: spans queue, the excess is
 * dropped and counted, the rest goes at shutdown. "io-paced": the same, but each call ends with
 * `Effect.sleep(0)`, so the event loop turns between calls as it does when real LM calls wait
 * on the network. Then memory with the receiver down.
 *
 *   node --expose-gc --import tsx packages/telemetry/bench/overhead.ts [calls=3000] [concurrency=64] [rounds=5]
 *
 * (`pnpm exec tsx packages/telemetry/bench/overhead.ts` works too, without forced GC.)
 */
import { LmConfig, Predict, Signature } from "@effect-dspy/core"
import { Simulator } from "@effect-dspy/simulator"
import { Duration, Effect, Layer, Logger, LogLevel } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Telemetry, TelemetryConfig } from "../src/index"

const calls = Number(process.argv[2] ?? 3000)
const concurrency = Number(process.argv[3] ?? 64)
const rounds = Number(process.argv[4] ?? 5)

const qa = Predict.make(Signature.fromString("question -> answer"))

const scenarios = ["saturated", "io-paced"] as const
type Scenario = (typeof scenarios)[number]

const workload = (n: number, scenario: Scenario) =>
  Effect.forEach(
    Array.from({ length: n }, (_, i) => i),
    (i) => {
      const call = qa({ question: `What is ${i} + ${i}?` })
      return scenario === "saturated" ? call : Effect.zipLeft(call, Effect.sleep(0))
    },
    { concurrency, discard: true }
  ).pipe(LmConfig.withSettings({ provider: "simulator", model: "sim-1" }))

// A loopback OTLP receiver in this process that accepts everything.
let receivedBytes = 0
let receivedRequests = 0
const server = http.createServer((req, res) => {
  req.on("data", (chunk: Buffer) => (receivedBytes += chunk.length))
  req.on("end", () => {
    receivedRequests++
    res.writeHead(200, { "content-type": "application/x-protobuf" })
    res.end()
  })
})
const receiverUrl = await new Promise<string>((resolve) =>
  server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`))
)
const downUrl = await new Promise<string>((resolve) => {
  const probe = http.createServer()
  probe.listen(0, "127.0.0.1", () => {
    const { port } = probe.address() as AddressInfo
    probe.close(() => resolve(`http://127.0.0.1:${port}/v1/traces`))
  })
})

const modes = ["off", "loopback", "down"] as const
type Mode = (typeof modes)[number]

const layerFor = (mode: Mode): Layer.Layer<Telemetry.Provides> => {
  switch (mode) {
    case "off":
      return Telemetry.layer(TelemetryConfig.make({ destinations: [] }))
    case "loopback":
      // A queue that holds every span of a round: the figure includes exporting all of them.
      return Telemetry.layerOtlp({ url: receiverUrl, batch: { maxQueueSize: Math.max(2048, calls * 2) } })
    case "down":
      // The defaults (a queue of 2048): spans beyond it are dropped and counted.
      return Telemetry.layerOtlp({ url: downUrl, shutdownTimeout: Duration.seconds(1) })
  }
}

interface Round {
  readonly perSecond: number
  readonly cpuMicrosPerCall: number
  readonly exported: number
  readonly dropped: number
  readonly failed: number
}

const runRound = (scenario: Scenario, mode: Mode, n: number) =>
  Effect.gen(function*() {
    let telemetry: Telemetry.Service | undefined
    const cpu = process.cpuUsage()
    const start = performance.now()
    yield* Effect.gen(function*() {
      telemetry = yield* Telemetry.Telemetry
      yield* workload(n, scenario)
    }).pipe(Effect.provide(layerFor(mode)))
    const wallMillis = performance.now() - start
    const used = process.cpuUsage(cpu)
    const stats = telemetry === undefined ? [] : yield* telemetry.stats
    const round: Round = {
      perSecond: n / (wallMillis / 1000),
      cpuMicrosPerCall: (used.user + used.system) / n,
      exported: stats.reduce((a, s) => a + s.exported, 0),
      dropped: stats.reduce((a, s) => a + s.dropped, 0),
      failed: stats.reduce((a, s) => a + s.failed, 0)
    }
    return round
  }).pipe(Effect.provide(Simulator.layer()))

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const gc = (globalThis as { gc?: () => void }).gc
const memory = () => {
  gc?.()
  const m = process.memoryUsage()
  return { rssMb: m.rss / 2 ** 20, heapMb: m.heapUsed / 2 ** 20 }
}

const main = Effect.gen(function*() {
  console.log(`Predict over the in-process simulator (zero latency): ${calls} calls at concurrency ${concurrency}, ${rounds} rounds per mode`)
  console.log(`node ${process.version}, forced GC ${gc === undefined ? "unavailable (run node with --expose-gc)" : "on"}`)

  for (const scenario of scenarios) {
    for (const mode of modes) yield* runRound(scenario, mode, Math.min(calls, 1000)) // warm-up
    const results: Record<Mode, Array<Round>> = { off: [], loopback: [], down: [] }
    for (let r = 0; r < rounds; r++) {
      // Interleaved, so that drift in the machine's speed affects every mode alike.
      for (const mode of modes) results[mode].push(yield* runRound(scenario, mode, calls))
    }
    const offRate = median(results.off.map((r) => r.perSecond))
    const offCpu = median(results.off.map((r) => r.cpuMicrosPerCall))
    console.log("")
    console.log(`scenario: ${scenario}`)
    console.log("mode       calls/s  ratio  CPU us/call  ratio  spans: exported  dropped  failed  (medians; spans of the last round)")
    for (const mode of modes) {
      const rate = median(results[mode].map((r) => r.perSecond))
      const cpu = median(results[mode].map((r) => r.cpuMicrosPerCall))
      const last = results[mode][results[mode].length - 1]!
      console.log(
        `${mode.padEnd(9)} ${rate.toFixed(0).padStart(8)}  ${(rate / offRate).toFixed(3)} ${cpu.toFixed(0).padStart(12)}  ${
          (offCpu / cpu).toFixed(3)
        } ${String(last.exported).padStart(16)}  ${String(last.dropped).padStart(7)}  ${String(last.failed).padStart(6)}`
      )
    }
    for (const mode of modes) {
      console.log(
        `  ${mode.padEnd(8)} rounds: calls/s ${results[mode].map((r) => r.perSecond.toFixed(0)).join(" ")}; CPU us/call ${
          results[mode].map((r) => r.cpuMicrosPerCall.toFixed(0)).join(" ")
        }`
      )
    }
  }
  console.log(`receiver: ${receivedRequests} requests, ${(receivedBytes / 2 ** 20).toFixed(1)} MiB`)

  // Memory with the receiver down: one layer, many workloads; the queue is bounded, so memory stays flat.
  console.log("")
  console.log("memory with the receiver down (io-paced, one layer, 10 workloads in a row):")
  const before = memory()
  const samples: Array<{ rssMb: number; heapMb: number }> = []
  const downStats = yield* Effect.gen(function*() {
    const telemetry = yield* Telemetry.Telemetry
    for (let i = 0; i < 10; i++) {
      yield* workload(calls, "io-paced")
      samples.push(memory())
    }
    return yield* telemetry.stats
  }).pipe(Effect.provide(layerFor("down")), Effect.provide(Simulator.layer()))
  const after = memory()
  console.log(`  before:               rss ${before.rssMb.toFixed(1)} MiB, heap ${before.heapMb.toFixed(1)} MiB`)
  console.log(`  after each, heap MiB: ${samples.map((s) => s.heapMb.toFixed(1)).join(", ")}`)
  console.log(`  after each, rss MiB:  ${samples.map((s) => s.rssMb.toFixed(1)).join(", ")}`)
  console.log(`  after shutdown:       rss ${after.rssMb.toFixed(1)} MiB, heap ${after.heapMb.toFixed(1)} MiB`)
  const s = downStats[0]!
  console.log(`  spans: ${s.dropped} dropped, ${s.failed} failed, peak queue ${s.peakQueued} (max 2048)`)
}).pipe(Logger.withMinimumLogLevel(LogLevel.Error)) // the expected export warnings would drown the table

await Effect.runPromise(main)
server.close()
// An export abandoned at a timed-out shutdown keeps its own deadline; do not wait for it.
process.exit(0)
