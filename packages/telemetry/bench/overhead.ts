/**
 * Tracing overhead (issue 4): the same Predict workload three ways, tracing off
 * (`Telemetry.layer` without destinations, which is what `layerFromEnv` is with nothing set),
 * exporting every span to a loopback OTLP receiver, and exporting to a receiver that is down.
 * Rounds are interleaved (off, loopback, down, then down, loopback, off, ...) so that drift in
 * the machine's speed affects every mode alike, and medians are reported: throughput (calls per wall-clock second)
 * and CPU time per call of this process (the steadier figure on a shared machine), each as a
 * ratio to off. A round's window runs from the workload's start until the layer has shut down,
 * so the export work (serialization, HTTP, the final flush) is charged to the mode that caused it.
 *
 * Workloads:
 * - `http` (the issue's, default): the providers benchmark's workload (`packages/bench/src/
 *   predict-overhead.ts`): Predict over `Lm.layer("openai-compatible/sim-1")` against the simulator
 *   server in a child process over loopback HTTP, zero latency. Each call exports two spans
 *   (`Predict(QA)`, `chat sim-1`): the HTTP request inside the generation makes no span of its
 *   own (it still sends the trace context).
 * - `in-process`: Predict over the in-process simulator, calls back to back. Harsher: no HTTP
 *   cost to amortize span costs, and Node's event loop barely turns (Effect runs fibers in
 *   microtasks), so spans queue and the excess over the queue is dropped and counted.
 *
 * The OTLP receiver runs in its own child process, so its CPU is not charged to this one. Then
 * memory: one layer with the receiver down, ten workloads in a row; the queue is bounded.
 *
 *   node --expose-gc --import tsx packages/telemetry/bench/overhead.ts [--workload http|in-process|both]
 *     [--calls 3000] [--concurrency 64] [--rounds 5] [--modes off,loopback,down] [--memory off]
 *
 * `--modes` also takes `spans` (Effect's spans alone: core's, @effect/ai's and the HTTP client's,
 * made with a tracer that forwards to Effect's built-in one and exports nothing) and
 * `no-content` (exporting without content capture), which split the cost; the first mode listed
 * is the baseline of the ratios.
 */
import { LmConfig, Predict, Signature } from "@effect-dspy/core"
import { Simulator } from "@effect-dspy/simulator"
import { Context, DefaultServices, Duration, Effect, Layer, Logger, LogLevel, ManagedRuntime, Tracer } from "effect"
import type * as LanguageModel from "@effect/ai/LanguageModel"
// Scripts, not library code: the providers benchmark's harness and the provider, by path (the
// telemetry package does not depend on them).
import { median, startSimulator } from "../../bench/src/internal/harness.js"
import { Lm } from "../../providers/src/index.js"
import { Telemetry, TelemetryConfig } from "../src/index.js"
import { closedPortUrl, startReceiver } from "./internal/receiver.js"

const args = new Map<string, string>()
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "")
const CALLS = Number(args.get("calls") ?? 3000)
const CONCURRENCY = Number(args.get("concurrency") ?? 64)
const ROUNDS = Number(args.get("rounds") ?? 5)
const WORKLOAD = args.get("workload") ?? "http"
if (!["http", "in-process", "both"].includes(WORKLOAD)) throw new Error(`--workload http|in-process|both, got ${WORKLOAD}`)
// For profiling one mode alone (`--modes loopback --memory off` under `node --cpu-prof`).
const MODES = (args.get("modes") ?? "off,loopback,down").split(",")
const MEMORY = args.get("memory") !== "off"

const QA = Signature.fromString("question -> answer", { name: "QA", instructions: "Answer the question in one sentence." })
const qa = Predict.make(QA)

const workload = (n: number) =>
  Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => qa({ question: `What is ${i} + ${i}?` }), {
    concurrency: CONCURRENCY,
    discard: true
  })

// `spans` and `no-content` split the cost (see the header); they run only when asked for.
const allModes = ["off", "loopback", "down", "spans", "no-content"] as const
type Mode = (typeof allModes)[number]
const modes = MODES.filter((mode): mode is Mode => allModes.some((m) => m === mode))
if (modes.length !== MODES.length) throw new Error(`--modes takes ${allModes.join(", ")}; got ${MODES.join(",")}`)
const baseline: Mode = modes[0] ?? "off"

const native = Context.get(DefaultServices.liveServices, Tracer.Tracer)
const forwarding = Tracer.make({ span: (...args) => native.span(...args), context: native.context })

const layerFor = (mode: Mode, receiverUrl: string, downUrl: string): Layer.Layer<Telemetry.Provides> => {
  switch (mode) {
    case "spans":
      return Layer.merge(Telemetry.layer(TelemetryConfig.make({ destinations: [] })), Layer.setTracer(forwarding))
    case "no-content":
      return Telemetry.layerOtlp({ url: receiverUrl, batch: { maxQueueSize: Math.max(2048, CALLS * 4) }, content: { capture: false } })
    case "off":
      return Telemetry.layer(TelemetryConfig.make({ destinations: [] }))
    case "loopback":
      // A queue that holds every span of a round: the figure includes exporting all of them.
      return Telemetry.layerOtlp({ url: receiverUrl, batch: { maxQueueSize: Math.max(2048, CALLS * 4) } })
    case "down":
      // The defaults (a queue of 2048): spans beyond it are dropped and counted.
      return Telemetry.layerOtlp({ url: downUrl, shutdownTimeout: Duration.seconds(1) })
  }
}

interface Round {
  readonly perSecond: number
  readonly cpuMicrosPerCall: number
  readonly heapMb: number
  readonly exported: number
  readonly dropped: number
  readonly failed: number
}

const gc = (globalThis as { gc?: () => void }).gc
const memory = () => {
  gc?.()
  const m = process.memoryUsage()
  return { rssMb: m.rss / 2 ** 20, heapMb: m.heapUsed / 2 ** 20 }
}

type Run = <A>(effect: Effect.Effect<A, unknown, LanguageModel.LanguageModel>) => Promise<A>

const runRound = async (run: Run, layer: Layer.Layer<Telemetry.Provides>, n: number): Promise<Round> => {
  let stats: ReadonlyArray<Telemetry.DestinationStats> = []
  const cpu = process.cpuUsage()
  const start = performance.now()
  await run(Effect.gen(function*() {
    const telemetry = yield* Telemetry.Telemetry
    yield* workload(n)
    return telemetry
  }).pipe(
    Effect.provide(layer),
    // Read after the layer has shut down (its scope closed, the flush done).
    Effect.flatMap((telemetry) => Effect.map(telemetry.stats, (s) => (stats = s)))
  ))
  const wallMillis = performance.now() - start
  const used = process.cpuUsage(cpu)
  return {
    perSecond: n / (wallMillis / 1000),
    cpuMicrosPerCall: (used.user + used.system) / n,
    heapMb: memory().heapMb,
    exported: stats.reduce((a, s) => a + s.exported, 0),
    dropped: stats.reduce((a, s) => a + s.dropped, 0),
    failed: stats.reduce((a, s) => a + s.failed, 0)
  }
}

const report = (results: Record<Mode, Array<Round>>) => {
  const offRate = median(results[baseline].map((r) => r.perSecond))
  const offCpu = median(results[baseline].map((r) => r.cpuMicrosPerCall))
  console.log("mode       calls/s  ratio  CPU µs/call  ratio  heap MiB  spans: exported  dropped  failed  (medians; spans of the last round)")
  for (const mode of modes) {
    const rate = median(results[mode].map((r) => r.perSecond))
    const cpu = median(results[mode].map((r) => r.cpuMicrosPerCall))
    const heap = median(results[mode].map((r) => r.heapMb))
    const last = results[mode][results[mode].length - 1]!
    console.log(
      `${mode.padEnd(10)} ${rate.toFixed(0).padStart(8)}  ${(rate / offRate).toFixed(3)} ${cpu.toFixed(0).padStart(12)}  ${
        (offCpu / cpu).toFixed(3)
      } ${heap.toFixed(1).padStart(9)} ${String(last.exported).padStart(16)}  ${String(last.dropped).padStart(7)}  ${
        String(last.failed).padStart(6)
      }`
    )
  }
  // Each round's ratio to the off round just before it: steadier than a ratio of medians when
  // the machine's speed drifts during the run.
  const paired = (mode: Mode) => median(results[mode].map((r, i) => results[baseline][i]!.cpuMicrosPerCall / r.cpuMicrosPerCall))
  console.log(`  paired CPU ratios (median of per-round ratios to the ${baseline} round): ${modes.map((m) => `${m} ${paired(m).toFixed(3)}`).join(", ")}`)
  for (const mode of modes) {
    console.log(
      `  ${mode.padEnd(10)} rounds: calls/s ${results[mode].map((r) => r.perSecond.toFixed(0)).join(" ")}; CPU µs/call ${
        results[mode].map((r) => r.cpuMicrosPerCall.toFixed(0)).join(" ")
      }`
    )
  }
}

const bench = async (name: string, run: Run, receiverUrl: string, downUrl: string) => {
  console.log("")
  console.log(`workload: ${name}`)
  for (const mode of modes) await runRound(run, layerFor(mode, receiverUrl, downUrl), Math.min(CALLS, 1000)) // warm-up
  const results: Record<Mode, Array<Round>> = { off: [], loopback: [], down: [], spans: [], "no-content": [] }
  for (let r = 0; r < ROUNDS; r++) {
    // Every other round in reverse order, so that no mode always runs right after the same one.
    for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) {
      results[mode].push(await runRound(run, layerFor(mode, receiverUrl, downUrl), CALLS))
    }
  }
  report(results)
  if (!MEMORY) return

  // Memory with the receiver down: one layer, many workloads; the queue is bounded, so memory stays flat.
  console.log(`  memory with the receiver down (one layer, 10 workloads of ${CALLS} calls in a row):`)
  const before = memory()
  const samples: Array<{ rssMb: number; heapMb: number }> = []
  const stats = await run(Effect.gen(function*() {
    const telemetry = yield* Telemetry.Telemetry
    for (let i = 0; i < 10; i++) {
      yield* workload(CALLS)
      samples.push(memory())
    }
    return yield* telemetry.stats
  }).pipe(Effect.provide(layerFor("down", receiverUrl, downUrl))))
  const after = memory()
  console.log(`    before:               rss ${before.rssMb.toFixed(1)} MiB, heap ${before.heapMb.toFixed(1)} MiB`)
  console.log(`    after each, heap MiB: ${samples.map((s) => s.heapMb.toFixed(1)).join(", ")}`)
  console.log(`    after each, rss MiB:  ${samples.map((s) => s.rssMb.toFixed(1)).join(", ")}`)
  console.log(`    after shutdown:       rss ${after.rssMb.toFixed(1)} MiB, heap ${after.heapMb.toFixed(1)} MiB`)
  const s = stats[0]!
  console.log(`    spans: ${s.dropped} dropped, ${s.failed} failed, peak queue ${s.peakQueued} (max 2048)`)
}

// The expected export warnings of the receiver-down mode would drown the table.
const quiet = Logger.withMinimumLogLevel(LogLevel.Error)

const main = async () => {
  console.log(`Predict: ${CALLS} calls at concurrency ${CONCURRENCY}, ${ROUNDS} interleaved rounds per mode`)
  console.log(`node ${process.version}, forced GC ${gc === undefined ? "unavailable (run node with --expose-gc)" : "on"}`)
  const receiver = await startReceiver()
  const downUrl = await closedPortUrl()
  const stops: Array<() => void> = [receiver.stop]
  try {
    if (WORKLOAD !== "in-process") {
      const sim = await startSimulator(["--latency", "0"])
      stops.push(sim.stop)
      const runtime = ManagedRuntime.make(Lm.layer("openai-compatible/sim-1", { baseUrl: `${sim.url}/v1` }))
      await bench(
        "http (openai-compatible provider, simulator server in a child process, zero latency)",
        (effect) => runtime.runPromise(quiet(effect)),
        receiver.url,
        downUrl
      )
      await runtime.dispose()
    }
    if (WORKLOAD !== "http") {
      const runtime = ManagedRuntime.make(Simulator.layer())
      await bench(
        "in-process (in-process simulator, zero latency, calls back to back)",
        (effect) => runtime.runPromise(quiet(effect.pipe(LmConfig.withSettings({ provider: "simulator", model: "sim-1" })))),
        receiver.url,
        downUrl
      )
      await runtime.dispose()
    }
    console.log("")
    console.log(`receiver: ${await receiver.stats()}`)
  } finally {
    for (const stop of stops) stop()
  }
}

main().then(
  // An export abandoned at a timed-out shutdown must not keep the process alive; if it does,
  // this exit hides it, so say so.
  () => {
    const timers = process.getActiveResourcesInfo().filter((h) => h === "Timeout").length
    if (timers > 0) console.log(`note: ${timers} timers still pending at exit`)
    process.exit(0)
  },
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
