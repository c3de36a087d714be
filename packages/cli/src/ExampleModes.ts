/**
 * The batch example's four modes, offline by default: each starts a `SimulatorServer` on
 * loopback with a latency (and, for `rate-limited`, a concurrency limit answering 429 with
 * `Retry-After`) and talks to it through the providers' `openai-compatible` model over real
 * HTTP, so that concurrency, 429s and retries are real.
 *
 * - `simple`: 8 questions at concurrency 4, each answer printed as it arrives.
 * - `large`: 150 questions at concurrency 10, with a progress bar.
 * - `rate-limited`: 50 questions at concurrency 10 against a server that serves 4 at once.
 * - `benchmark`: the same questions sequentially, at concurrency 4 and at 10.
 *
 * @since 0.1.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Lm from "@effect-dspy/providers/Lm"
import * as SimulatorConfig from "@effect-dspy/simulator/SimulatorConfig"
import * as SimulatorProvider from "@effect-dspy/simulator/SimulatorProvider"
import * as SimulatorServer from "@effect-dspy/simulator/SimulatorServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Batch from "@effect-dspy/batch/Batch"
import * as BatchMetrics from "@effect-dspy/batch/BatchMetrics"
import * as Input from "@effect-dspy/batch/Input"
import * as RateControl from "@effect-dspy/batch/RateControl"
import * as Programs from "@effect-dspy/batch/Programs"
import * as Progress from "./Progress.js"

/**
 * The example modes.
 *
 * @since 0.2.0
 */
export const modes = ["simple", "large", "rate-limited", "benchmark"] as const

/**
 * An example mode.
 *
 * @since 0.2.0
 */
export type Mode = (typeof modes)[number]

/**
 * Options of an example run.
 *
 * @since 0.2.0
 */
export interface Options {
  readonly mode: Mode
  /** A real model id (needs its key); default: the offline simulator server. */
  readonly model?: string | undefined
  /** Number of questions (defaults per mode: 8, 150, 50, 40). */
  readonly items?: number | undefined
  /** Concurrency (defaults per mode: 4, 10, 10; the benchmark compares 1, 4 and 10). */
  readonly concurrency?: number | undefined
  /** Simulator latency, e.g. `200`, `uniform:100-300`, `lognormal:400,0.4`. */
  readonly latency?: string | undefined
  /** Show a progress bar (on a terminal). */
  readonly progress?: boolean | undefined
  /** Where human-readable lines go (never called for `--json`). */
  readonly print: (line: string) => Effect.Effect<void>
}

/**
 * One run of the benchmark.
 *
 * @since 0.2.0
 */
export interface BenchmarkRun {
  readonly label: string
  readonly concurrency: number
  readonly wallMillis: number
  readonly throughput: number
  /** Sequential wall time over this run's wall time. */
  readonly speedup: number
  /** `speedup / concurrency`. */
  readonly efficiency: number
  readonly failed: number
  readonly heapDeltaMB: number
  readonly peakRssMB: number
}

/**
 * What an example reports.
 *
 * @since 0.2.0
 */
export type Report =
  | {
    readonly mode: "simple" | "large" | "rate-limited"
    readonly model: string
    readonly summary: BatchMetrics.Summary
    /** The simulator server's counters, offline. */
    readonly server: SimulatorServer.Counters | undefined
  }
  | { readonly mode: "benchmark"; readonly model: string; readonly items: number; readonly runs: ReadonlyArray<BenchmarkRun> }

const capitals = [
  "France", "Japan", "Kenya", "Brazil", "Canada", "Norway", "Egypt", "India", "Chile", "Peru", "Spain", "Italy",
  "Ghana", "Nepal", "Cuba", "Iran", "Iraq", "Laos", "Mali", "Oman", "Chad", "Fiji", "Togo", "Niger", "Sudan"
]
const elements = ["hydrogen", "helium", "carbon", "oxygen", "iron", "gold", "silver", "copper", "neon", "sodium"]

/**
 * `n` distinct questions, the same every time.
 *
 * @since 0.2.0
 */
export const questions = (n: number): Array<{ readonly question: string }> => {
  const out: Array<{ readonly question: string }> = []
  for (let i = 0; out.length < n; i++) {
    const k = Math.floor(i / 5)
    switch (i % 5) {
      case 0:
        out.push({ question: `What is the capital of ${capitals[k % capitals.length]}?${k >= capitals.length ? ` (${k})` : ""}` })
        break
      case 1:
        out.push({ question: `What is ${12 + k} multiplied by ${7 + (k % 9)}?` })
        break
      case 2:
        out.push({ question: `What is the atomic number of ${elements[k % elements.length]}?${k >= elements.length ? ` (${k})` : ""}` })
        break
      case 3:
        out.push({ question: `How many days are there in ${k + 2} weeks?` })
        break
      default:
        out.push({ question: `Name a word that rhymes with "${["cat", "moon", "tree", "light", "rain"][k % 5]}"${k >= 5 ? ` (${k})` : ""}.` })
    }
  }
  return out
}

const defaults: Record<Mode, { readonly items: number; readonly concurrency: number; readonly latency: string }> = {
  simple: { items: 8, concurrency: 4, latency: "lognormal:600,0.35" },
  large: { items: 150, concurrency: 10, latency: "lognormal:300,0.3" },
  "rate-limited": { items: 50, concurrency: 10, latency: "250" },
  benchmark: { items: 40, concurrency: 10, latency: "uniform:100-300" }
}

/** Where the model comes from: a real id, or the simulator server started for the example. */
interface Target {
  readonly model: string
  readonly layer: (limiter: RateControl.Service) => Layer.Layer<LanguageModel.LanguageModel, Lm.SetupError>
  readonly server: SimulatorServer.Service | undefined
}

const target = (
  options: Options,
  serverOptions: SimulatorServer.Options
): Effect.Effect<Target, ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    if (options.model !== undefined) {
      const model = options.model
      return {
        model,
        layer: (limiter) => Lm.layer(model, { limiter }).pipe(Layer.provide(SimulatorProvider.layer())),
        server: undefined
      }
    }
    // a fifth of the replies drift the way real models write (`Positive.`, `"0.9"`, a <think> block,
    // JSON under the field markers): the adapters accept them, as they must on a real model
    const server = yield* SimulatorServer.make({ port: 0, drift: 0.2, ...serverOptions })
    return {
      model: "openai-compatible/sim-1",
      // the server's own 429s are the subject of the example: retries are handled by the rate control
      layer: (limiter) =>
        Lm.layer("openai-compatible/sim-1", { baseUrl: `${server.url}/v1`, limiter, retry: { maxRetries: 4, baseDelay: "100 millis" } }),
      server
    }
  })

const latencyOf = (spec: string): SimulatorConfig.Latency =>
  Option.getOrElse(SimulatorConfig.parseLatency(spec), () => ({ _tag: "Fixed", millis: 200 }) as const)

/** Runs `items` once at `concurrency` and returns the summary. */
const runOnce = (
  t: Target,
  items: ReadonlyArray<{ readonly question: string }>,
  concurrency: number,
  options: {
    readonly requestsPerMinute?: number | undefined
    readonly progress: boolean
    readonly onOutcome?: ((line: string) => Effect.Effect<void>) | undefined
  }
): Effect.Effect<BatchMetrics.Summary, Lm.SetupError | Batch.RunFailed> =>
  Effect.scoped(Effect.gen(function*() {
    const limiter = yield* RateControl.make({ maxConcurrency: concurrency, requestsPerMinute: options.requestsPerMinute })
    const context = yield* Layer.build(t.layer(limiter))
    const recorder = yield* BatchMetrics.makeRecorder({ concurrency, rateControl: limiter })
    yield* recorder.setTotal(items.length)
    if (options.progress) yield* Progress.start(recorder.stats)
    const module = Programs.builtIns["qa"]!.module
    yield* Batch.stream(module, Input.fromIterable(items), { concurrency, recorder, dedupe: false }).pipe(
      Stream.runForEach((outcome) => {
        if (options.onOutcome === undefined) return Effect.void
        const q = (outcome.input as { readonly question: string } | undefined)?.question ?? ""
        const line = outcome._tag === "Success"
          ? `  ok   [${outcome.index}] ${q} -> ${JSON.stringify((outcome.output as { readonly answer?: unknown }).answer)} (${
            BatchMetrics.formatDuration(outcome.latencyMillis)
          })`
          : `  FAIL [${outcome.index}] ${q}: ${outcome.error.kind}: ${outcome.error.message}`
        return options.onOutcome(line)
      }),
      Effect.provide(context),
      Effect.provideService(RateControl.RateControl, limiter)
    )
    return yield* recorder.summary
  }))

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10

/**
 * Runs an example mode and returns its report (printing progress lines through `print`).
 *
 * @example
 * ```ts
 * import * as ExampleModes from "@effect-dspy/cli/ExampleModes"
 * import { Console } from "effect"
 * const report = ExampleModes.run({ mode: "simple", print: Console.log })
 * ```
 *
 * @since 0.2.0
 */
export const run = (options: Options): Effect.Effect<Report, Lm.SetupError | ServeError | Batch.RunFailed> =>
  Effect.scoped(Effect.gen(function*() {
    const mode = options.mode
    const d = defaults[mode]
    const n = Math.max(1, options.items ?? d.items)
    const latency = latencyOf(options.latency ?? d.latency)
    const items = questions(n)
    const progress = options.progress ?? false
    if (mode === "benchmark") {
      const t = yield* target(options, { latency })
      yield* options.print(
        `benchmark: ${n} questions on ${t.server === undefined ? t.model : `the simulator server (${t.server.url}, latency ${options.latency ?? d.latency})`}`
      )
      const runs: Array<BenchmarkRun> = []
      let sequential = 0
      for (const [label, concurrency] of [["sequential", 1], ["concurrency 4", 4], ["concurrency 10", 10]] as const) {
        if (t.server !== undefined) yield* t.server.reset
        const before = process.memoryUsage()
        let peakRss = before.rss
        const sampler = yield* Effect.forkScoped(Effect.forever(Effect.zipRight(
          Effect.sync(() => {
            peakRss = Math.max(peakRss, process.memoryUsage().rss)
          }),
          Effect.sleep("25 millis")
        )))
        const summary = yield* runOnce(t, items, concurrency, { progress })
        yield* Fiber.interrupt(sampler)
        const after = process.memoryUsage()
        if (concurrency === 1) sequential = summary.wallMillis
        const speedup = summary.wallMillis > 0 ? sequential / summary.wallMillis : 0
        const entry: BenchmarkRun = {
          label,
          concurrency,
          wallMillis: Math.round(summary.wallMillis),
          throughput: Math.round(summary.throughput * 100) / 100,
          speedup: Math.round(speedup * 100) / 100,
          efficiency: Math.round((speedup / concurrency) * 1000) / 1000,
          failed: summary.failed,
          heapDeltaMB: mb(after.heapUsed - before.heapUsed),
          peakRssMB: mb(Math.max(peakRss, after.rss))
        }
        runs.push(entry)
        yield* options.print(
          `  ${label.padEnd(15)} ${BatchMetrics.formatDuration(entry.wallMillis).padStart(8)}  ${
            entry.throughput.toFixed(2).padStart(6)
          } items/s  speedup ${entry.speedup.toFixed(2)}x  efficiency ${(entry.efficiency * 100).toFixed(0)}%  heap ${
            entry.heapDeltaMB >= 0 ? "+" : ""
          }${entry.heapDeltaMB} MB  rss ${entry.peakRssMB} MB${entry.failed > 0 ? `  failed ${entry.failed}` : ""}`
        )
      }
      return { mode, model: t.model, items: n, runs }
    }
    const concurrency = Math.max(1, options.concurrency ?? d.concurrency)
    const limited = mode === "rate-limited"
    const t = yield* target(
      options,
      limited ? { latency, limits: { maxConcurrent: 4 }, faults: { retryAfterSeconds: 0.5 } } : { latency }
    )
    const where = t.server === undefined
      ? t.model
      : `the simulator server at ${t.server.url} (latency ${options.latency ?? d.latency}${limited ? ", serves 4 requests at once, 429 + Retry-After 0.5 s beyond" : ""})`
    yield* options.print(`${mode}: ${n} questions at concurrency ${concurrency} on ${where}`)
    const summary = yield* runOnce(t, items, concurrency, {
      progress: progress && mode !== "simple",
      // with a real model the example limits itself, to show the queue
      requestsPerMinute: limited && t.server === undefined ? 60 : undefined,
      onOutcome: mode === "simple" ? options.print : undefined
    })
    const server = t.server === undefined ? undefined : yield* t.server.counters
    return { mode, model: t.model, summary, server }
  }))

/**
 * A report as text.
 *
 * @since 0.2.0
 */
export const format = (report: Report): string => {
  if (report.mode === "benchmark") {
    const seq = report.runs[0]
    return seq === undefined ? "" : `sequential ${BatchMetrics.formatDuration(seq.wallMillis)}; best speedup ${
      Math.max(...report.runs.map((r) => r.speedup)).toFixed(2)
    }x`
  }
  const lines = [BatchMetrics.formatSummary(report.summary, `Summary (${report.mode}, ${report.model})`)]
  if (report.server !== undefined) {
    lines.push(
      `  server       ${report.server.requests} requests, ${report.server.completed} answered, ${report.server.rateLimited} answered 429, peak ${report.server.maxInFlight} at once`
    )
  }
  return lines.join("\n")
}
