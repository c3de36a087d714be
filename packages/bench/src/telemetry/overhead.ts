/**
 * What tracing costs at a realistic model latency (issue 22): ChainOfThought over the
 * openai-compatible provider against the simulator in a child process answering in 0.5-2 s
 * (each question always takes the same time: latency drawn per request), 3,000 calls at
 * concurrency 64, with
 *
 * - `off`: `Telemetry.layerFromEnv` with nothing configured (core then makes no spans);
 * - `export`: `Telemetry.layerOtlp` to a loopback receiver in a child process, every span exported
 *   with its content (capture is opt-in: turned on here, as the floor's spans carry the prompt);
 * - `down`: the collector's port closed (connections refused); the default queue of 2048;
 * - `hang`: a collector that reads every request and never answers;
 * - `effect-otlp`: the other exporter the issue names, `@effect/opentelemetry`'s `OtlpTracer` with
 *   `OtlpSerialization.layerProtobuf` over `FetchHttpClient`, to the same loopback receiver (no
 *   content capture, no `@effect/ai` span folding: it exports three spans a call to our two);
 * - `fetch` and `sdk`: the floor (`floor.ts`): the bare request, and the same request inside the
 *   OpenTelemetry SDK's two spans with the same attributes, exported by the SDK;
 * - on request (`--modes`), `spans` (Effect's spans alone, made and kept by Effect's built-in
 *   tracer, nothing recorded or exported) and `no-content` (exporting without content capture),
 *   which split tracing's cost.
 *
 * Rounds interleave the modes (every other round in reverse order). A round's window runs from
 * the workload's start until its layer has shut down (the final flush included). Figures: wall
 * time and its ratio to `off` (target: at most 1.004 for `export`, `down` and `hang`), this
 * process's CPU per call, and tracing's CPU per call (`mode - off`, paired per round) against
 * the SDK's (`sdk - fetch`, paired per round) (target: at most 1.5x). Then memory: one layer
 * with the collector down over ten workloads in a row (heap after each, with forced GC).
 *
 *   node --expose-gc --import tsx packages/bench/src/telemetry/overhead.ts [--calls 3000] [--concurrency 64]
 *     [--rounds 3] [--latency uniform:500-2000] [--modes off,export,down,hang,effect-otlp,fetch,sdk,spans,no-content]
 *     [--memory on|off] [--workloads 10] [--warmup 1000] [--json FILE]
 *
 * Per round it prints each mode's wall time, its ratio to that round's `off`, how long the layer
 * took to shut down after the workload (`close`), and `off`'s own spread over the rounds: a wall
 * ratio within that spread is not a measured difference (on a shared machine it is several
 * percent, against a target of 0.4%: give it more rounds, `--modes off,hang --rounds 10`).
 */
import { ChainOfThought } from "@effect-dspy/core"
import { Lm } from "@effect-dspy/providers"
import { Telemetry, TelemetryConfig } from "@effect-dspy/telemetry"
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import { Context, DefaultServices, Effect, Layer, Logger, LogLevel, ManagedRuntime, Tracer } from "effect"
import { writeFileSync } from "node:fs"
import { median, pool, runHeader } from "../harness/measure.js"
import * as Floor from "./floor.js"
import { closedPortUrl, startReceiver } from "./receiver.js"

const args = new Map<string, string>()
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "")
const CALLS = Number(args.get("calls") ?? 3000)
const CONCURRENCY = Number(args.get("concurrency") ?? 64)
const ROUNDS = Number(args.get("rounds") ?? 3)
const LATENCY = args.get("latency") ?? "uniform:500-2000"
const MEMORY = (args.get("memory") ?? "on") !== "off"
const WORKLOADS = Number(args.get("workloads") ?? 10)
const JSON_FILE = args.get("json")
// The first rounds after start-up ran slower (the simulator's and this process's JIT): 256
// warm-up calls left the first measured `off` round 14% above the next in one run.
const WARMUP = Number(args.get("warmup") ?? Math.min(CALLS, 1000))

const allModes = ["off", "export", "down", "hang", "effect-otlp", "fetch", "sdk", "spans", "no-content"] as const
const defaultModes = ["off", "export", "down", "hang", "effect-otlp", "fetch", "sdk"]
type Mode = (typeof allModes)[number]
const MODES = (args.get("modes") ?? defaultModes.join(",")).split(",")
const modes = MODES.filter((m): m is Mode => allModes.some((a) => a === m))
if (modes.length !== MODES.length) throw new Error(`--modes takes ${allModes.join(", ")}; got ${MODES.join(",")}`)

const cot = ChainOfThought.make(Floor.QA)
const workload = (n: number) =>
  Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => cot({ question: Floor.question(i) }), {
    concurrency: CONCURRENCY,
    discard: true
  })

interface Round {
  readonly wallMillis: number
  /** From the workload's end until the layer had shut down (its final flush); undefined for the modes without a layer. */
  readonly closeMillis: number | undefined
  readonly cpuMicrosPerCall: number
  /** Span counts; undefined where the mode has no way to know them (`-` in the table). */
  readonly exported: number | undefined
  readonly dropped: number | undefined
  readonly failed: number | undefined
}

interface Urls {
  readonly sim: string
  readonly receiver: string
  readonly hanging: string
  readonly down: string
}

// Content capture is opt-in; the floor's spans carry the prompt and reply, so these do too.
const content = { capture: true }

const telemetryLayer = (mode: Mode, urls: Urls): Layer.Layer<Telemetry.Telemetry> => {
  switch (mode) {
    case "export":
      // A queue that holds every span of a round: the figure includes exporting all of them.
      return Telemetry.layerOtlp({ url: `${urls.receiver}/v1/traces`, batch: { maxQueueSize: Math.max(2048, CALLS * 2) }, content })
    case "down":
      return Telemetry.layerOtlp({ url: `${urls.down}/v1/traces`, content })
    case "hang":
      return Telemetry.layerOtlp({ url: `${urls.hanging}/v1/traces`, content })
    case "no-content":
      return Telemetry.layerOtlp({ url: `${urls.receiver}/v1/traces`, batch: { maxQueueSize: Math.max(2048, CALLS * 2) }, content: { capture: false } })
    default:
      return Telemetry.layer(TelemetryConfig.make({ destinations: [] }))
  }
}

const effectOtlpLayer = (urls: Urls): Layer.Layer<never> =>
  OtlpTracer.layer({ url: `${urls.receiver}/v1/traces`, resource: { serviceName: "bench" } }).pipe(
    Layer.provide(OtlpSerialization.layerProtobuf),
    Layer.provide(FetchHttpClient.layer)
  )

// Effect's spans alone: a tracer that hands every span to Effect's built-in one (which keeps it in
// memory and exports nothing) but, being another tracer, makes core record its spans.
const native = Context.get(DefaultServices.liveServices, Tracer.Tracer)
const forwarding = Tracer.make({ span: (...args) => native.span(...args), context: native.context })

type Run = <A>(effect: Effect.Effect<A, unknown, LanguageModel.LanguageModel>) => Promise<A>

const gc = (globalThis as { gc?: () => void }).gc
const heapMb = () => {
  gc?.()
  return process.memoryUsage().heapUsed / 2 ** 20
}

const timed = async (n: number, body: () => Promise<Omit<Round, "wallMillis" | "cpuMicrosPerCall" | "closeMillis"> & { readonly workEnd?: number }>): Promise<Round> => {
  // The garbage of the round before is collected outside this round's window: otherwise the
  // mode that follows a heavy one pays for its collections (the bare `fetch` after the Effect
  // modes did, and the SDK's floor came out below it).
  gc?.()
  const cpu = process.cpuUsage()
  const start = performance.now()
  const { workEnd, ...counts } = await body()
  const end = performance.now()
  const used = process.cpuUsage(cpu)
  return { wallMillis: end - start, closeMillis: workEnd === undefined ? undefined : end - workEnd, cpuMicrosPerCall: (used.user + used.system) / n, ...counts }
}

const none = { exported: undefined, dropped: undefined, failed: undefined }

const runRound = (mode: Mode, run: Run, urls: Urls, n: number): Promise<Round> => {
  switch (mode) {
    case "fetch":
      return timed(n, async () => {
        const call = Floor.bare(urls.sim)
        let i = 0
        await pool(n, CONCURRENCY, () => call(i++))
        return none
      })
    case "sdk":
      return timed(n, async () => {
        const floor = Floor.traced(urls.sim, `${urls.receiver}/v1/traces`, Math.max(2048, n * 2))
        let i = 0
        await pool(n, CONCURRENCY, () => floor.call(i++))
        await floor.shutdown()
        // Its queue holds every span of the round: none is dropped.
        return { ...floor.counts(), dropped: 0 }
      })
    case "spans":
      return timed(n, async () => {
        await run(workload(n).pipe(Effect.provide(Layer.setTracer(forwarding))))
        return none
      })
    case "effect-otlp":
      return timed(n, async () => {
        await run(workload(n).pipe(Effect.provide(effectOtlpLayer(urls))))
        return none
      })
    default:
      return timed(n, async () => {
        let stats: ReadonlyArray<Telemetry.DestinationStats> = []
        let workEnd = 0
        await run(Effect.gen(function*() {
          const telemetry = yield* Telemetry.Telemetry
          yield* workload(n)
          workEnd = performance.now()
          return telemetry
        }).pipe(
          Effect.provide(telemetryLayer(mode, urls)),
          // Read after the layer has shut down (its scope closed, the flush done).
          Effect.flatMap((telemetry) => Effect.map(telemetry.stats, (s) => (stats = s)))
        ))
        return {
          workEnd,
          exported: stats.reduce((a, s) => a + s.exported, 0),
          dropped: stats.reduce((a, s) => a + s.dropped, 0),
          failed: stats.reduce((a, s) => a + s.failed, 0)
        }
      })
  }
}

const pairedMedian = (xs: ReadonlyArray<Round>, ys: ReadonlyArray<Round>, f: (x: Round, y: Round) => number) =>
  median(xs.map((x, i) => f(x, ys[i]!)))

const main = async () => {
  console.log(runHeader())
  console.log(`ChainOfThought: ${CALLS} calls at concurrency ${CONCURRENCY}, latency ${LATENCY}, ${ROUNDS} interleaved rounds after ${WARMUP} warm-up calls per mode`)
  console.log(`node ${process.version}, forced GC ${gc === undefined ? "unavailable (run node with --expose-gc)" : "on"}`)
  const sim = await Floor.startLatencySimulator(LATENCY)
  const receiver = await startReceiver("accept")
  const hanging = await startReceiver("hang")
  const urls: Urls = { sim: sim.url, receiver: receiver.baseUrl, hanging: hanging.baseUrl, down: await closedPortUrl() }
  // The expected export warnings of the down and hang modes would drown the table.
  const runtime = ManagedRuntime.make(Layer.merge(Lm.layer("openai-compatible/sim-1", { baseUrl: `${sim.url}/v1` }), Logger.minimumLogLevel(LogLevel.Error)))
  const run: Run = (effect) => runtime.runPromise(effect)
  const result: Record<string, unknown> = { calls: CALLS, concurrency: CONCURRENCY, latency: LATENCY, rounds: ROUNDS }
  try {
    for (const mode of modes) await runRound(mode, run, urls, WARMUP) // warm-up, not measured
    const results = new Map<Mode, Array<Round>>(modes.map((m) => [m, []]))
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) results.get(mode)!.push(await runRound(mode, run, urls, CALLS))
    }
    const off = results.get("off")
    const floor = results.get("sdk") !== undefined && results.get("fetch") !== undefined
      ? pairedMedian(results.get("sdk")!, results.get("fetch")!, (s, f) => s.cpuMicrosPerCall - f.cpuMicrosPerCall)
      : undefined
    console.log("")
    console.log("mode          wall s  vs off  CPU µs/call  tracing µs/call  vs SDK  spans: exported  dropped  failed  (medians; spans of the last round)")
    const rows: Array<Record<string, unknown>> = []
    for (const mode of modes) {
      const rounds = results.get(mode)!
      const wall = median(rounds.map((x) => x.wallMillis)) / 1000
      const wallRatio = off === undefined || mode === "fetch" || mode === "sdk" ? undefined : pairedMedian(rounds, off, (x, o) => x.wallMillis / o.wallMillis)
      const cpu = median(rounds.map((x) => x.cpuMicrosPerCall))
      const tracing = mode === "sdk" ? floor : off === undefined || mode === "off" || mode === "fetch"
        ? undefined
        : pairedMedian(rounds, off, (x, o) => x.cpuMicrosPerCall - o.cpuMicrosPerCall)
      const vsSdk = tracing === undefined || floor === undefined || floor <= 0 ? undefined : tracing / floor
      const last = rounds[rounds.length - 1]!
      const wallRatios = off === undefined || mode === "fetch" || mode === "sdk" || mode === "off" ? undefined : rounds.map((x, i) => x.wallMillis / off[i]!.wallMillis)
      rows.push({ ...last, mode, wallSeconds: wall, wallRatio, wallRatios, closeMillis: rounds.map((x) => x.closeMillis), cpuMicrosPerCall: cpu, tracingMicrosPerCall: tracing, vsSdk })
      console.log(
        `${mode.padEnd(12)} ${wall.toFixed(2).padStart(7)} ${(wallRatio?.toFixed(4) ?? "").padStart(7)} ${cpu.toFixed(0).padStart(12)} ${
          (tracing?.toFixed(0) ?? "").padStart(16)
        } ${(vsSdk === undefined ? "" : `${vsSdk.toFixed(2)}x`).padStart(7)} ${String(last.exported ?? "-").padStart(16)} ${String(last.dropped ?? "-").padStart(8)} ${
          String(last.failed ?? "-").padStart(7)
        }`
      )
    }
    console.log("\nper round (in run order within each round; vs off: this round's wall time over this round's off; close: workload end to layer shut down):")
    for (const mode of modes) {
      const rounds = results.get(mode)!
      const ratios = off === undefined || mode === "off" ? undefined : rounds.map((x, i) => x.wallMillis / off[i]!.wallMillis)
      const closes = rounds.map((x) => x.closeMillis).filter((x): x is number => x !== undefined)
      console.log(
        `  ${mode.padEnd(11)} wall s ${rounds.map((x) => (x.wallMillis / 1000).toFixed(2)).join(" ")}` +
          (ratios === undefined ? "" : `; vs off ${ratios.map((x) => x.toFixed(4)).join(" ")} (range ${(Math.max(...ratios) - Math.min(...ratios)).toFixed(4)})`) +
          (closes.length === 0 ? "" : `; close ms ${closes.map((x) => x.toFixed(0)).join(" ")}`) +
          `; CPU µs/call ${rounds.map((x) => x.cpuMicrosPerCall.toFixed(0)).join(" ")}`
      )
    }
    if (off !== undefined) {
      const offWalls = off.map((x) => x.wallMillis)
      const spread = (Math.max(...offWalls) - Math.min(...offWalls)) / median(offWalls)
      console.log(`  off's own spread over the rounds: ${(spread * 100).toFixed(2)}% of its median (a wall ratio within it is not a measured difference)`)
    }
    for (const row of rows) {
      if (["export", "down", "hang"].includes(String(row["mode"])) && typeof row["wallRatio"] === "number") {
        const ratios = Array.isArray(row["wallRatios"]) ? (row["wallRatios"] as Array<number>) : []
        console.log(
          `target: wall time ${row["mode"]} at most 1.004x of off: ${row["wallRatio"].toFixed(4)}x` +
            (ratios.length > 1 ? ` (rounds ${Math.min(...ratios).toFixed(4)}–${Math.max(...ratios).toFixed(4)})` : "") +
            ` -> ${row["wallRatio"] <= 1.004 ? "PASS" : "FAIL"}`
        )
      }
      if (row["mode"] === "export" && typeof row["vsSdk"] === "number") {
        console.log(`target: tracing CPU per call at most 1.5x the SDK's own: ${row["vsSdk"].toFixed(2)}x -> ${row["vsSdk"] <= 1.5 ? "PASS" : "FAIL"}`)
      }
    }
    result["rows"] = rows
    result["floorMicrosPerCall"] = floor

    if (MEMORY) {
      console.log("")
      console.log(`memory with the collector down (one layer, ${WORKLOADS} workloads of ${CALLS} calls in a row):`)
      const before = heapMb()
      const heaps: Array<number> = []
      const stats = await run(Effect.gen(function*() {
        const telemetry = yield* Telemetry.Telemetry
        for (let i = 0; i < WORKLOADS; i++) {
          yield* workload(CALLS)
          heaps.push(heapMb())
        }
        return yield* telemetry.stats
      }).pipe(Effect.provide(telemetryLayer("down", urls))))
      const after = heapMb()
      const s = stats[0]!
      console.log(`  heap MiB: before ${before.toFixed(1)}; after each ${heaps.map((h) => h.toFixed(1)).join(", ")}; after shutdown ${after.toFixed(1)}`)
      console.log(`  spans: ${s.dropped} dropped, ${s.failed} failed, peak queue ${s.peakQueued} (max 2048)`)
      result["memory"] = { before, heaps, after, dropped: s.dropped, failed: s.failed, peakQueued: s.peakQueued }
    }
    console.log("")
    console.log(`receiver: ${await receiver.stats()}; hanging receiver: ${await hanging.stats()}`)
    if (JSON_FILE !== undefined) writeFileSync(JSON_FILE, JSON.stringify(result, null, 2))
  } finally {
    await runtime.dispose()
    sim.stop()
    receiver.stop()
    hanging.stop()
  }
}

main().then(
  () => {
    // An export abandoned at shutdown must not keep the process alive; if one did, this exit hides it, so say so.
    const timers = process.getActiveResourcesInfo().filter((h) => h === "Timeout").length
    if (timers > 0) console.log(`note: ${timers} timers still pending at exit`)
    process.exit(0)
  },
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
