/**
 * Efficiency: 150 items at concurrency 10 against a server with a fixed 100 ms latency. The ideal
 * wall time is 15 rounds x 100 ms = 1500 ms; the target is to be within 2% of it.
 *
 *   pnpm exec tsx packages/batch/bench/efficiency.ts
 *
 * The simulator runs in a separate process (its own core); SEPARATE_SERVER=0 runs it in this
 * process, SIM_URL=http://127.0.0.1:8787 uses one started apart
 * (pnpm exec tsx packages/simulator/src/bin.ts --port 8787 --latency 100).
 * WARMUP=1500 warms up with that many items first (default 60), REPEATS the measured runs (default 3).
 * HTTP_CLIENT=node runs the model over platform's NodeHttpClient (node:http) instead of the
 * library's default, the platform's undici client (see common.ts).
 */
import { Module, Predict, Signature } from "@effect-dspy/core"
import { Effect } from "effect"
import { Batch } from "../src/index.js"
import { httpClientName, machine, model, questions, serverUrl } from "./common.js"

const predict = Predict.make(Signature.fromString("question -> answer"))

// The same module, noting when each call starts and ends (to see where the runner leaves a slot idle).
let calls: Array<{ start: number; end: number }> = []
type Qa = Module.Module<{ readonly question: string }, Module.Output<typeof predict>, Module.Error<typeof predict>, Module.Context<typeof predict>>
const qa: Qa = Module.fromFunction(
  (input: { readonly question: string }) =>
    Effect.suspend(() => {
      const call = { start: performance.now(), end: 0 }
      calls.push(call)
      return Effect.ensuring(predict(input), Effect.sync(() => void (call.end = performance.now())))
    }),
  { name: predict.name, kind: predict.kind, signature: predict.signature, predictors: predict.predictors, withState: (): Qa => qa }
)

/**
 * Slot time left idle, in wall-time terms (idle slot-ms / concurrency), split into the ramp-up
 * (before the last of the first round starts), the middle (a slot freed and the next call not
 * yet started) and the tail (after the last call starts).
 */
const idleOf = (runStart: number, runEnd: number) => {
  const events = calls.flatMap((c) => [{ t: c.start, d: 1 }, { t: c.end, d: -1 }]).sort((a, b) => a.t - b.t || a.d - b.d)
  const starts = calls.map((c) => c.start).sort((a, b) => a - b)
  const rampEnd = starts[CONCURRENCY - 1]!
  const lastStart = starts[starts.length - 1]!
  const idle = { ramp: 0, middle: 0, tail: 0 }
  let running = 0
  let t = runStart
  const add = (until: number) => {
    const free = (CONCURRENCY - running) * (until - t)
    if (t < rampEnd) idle.ramp += free
    else if (t < lastStart) idle.middle += free
    else idle.tail += free
    t = until
  }
  for (const e of events) {
    add(e.t)
    running += e.d
  }
  add(runEnd)
  return { ramp: idle.ramp / CONCURRENCY, middle: idle.middle / CONCURRENCY, tail: idle.tail / CONCURRENCY }
}
const LATENCY = 100
const ITEMS = 150
const CONCURRENCY = 10
const REPEATS = Number(process.env["REPEATS"] ?? 3)
const WARMUP = Number(process.env["WARMUP"] ?? 60)

const program = Effect.gen(function*() {
  const { url, where } = yield* serverUrl(
    { latency: { _tag: "Fixed", millis: LATENCY } },
    { default: true, simulatorArgs: ["--latency", String(LATENCY)] }
  )
  const { context } = yield* model(url, { maxConcurrency: CONCURRENCY })
  const run = (items: ReadonlyArray<{ readonly question: string }>) =>
    Batch.run(qa, items, { concurrency: CONCURRENCY, dedupe: false }).pipe(Effect.provide(context))
  // warm up the JIT and the connection pool
  yield* run(questions(WARMUP, "warm-"))
  const ideal = Math.ceil(ITEMS / CONCURRENCY) * LATENCY
  console.log(`efficiency: ${ITEMS} items, concurrency ${CONCURRENCY}, latency ${LATENCY} ms; ideal ${ideal} ms; simulator ${where}; HTTP client ${httpClientName} (${machine()})`)
  const walls: Array<number> = []
  const bare: Array<number> = []
  for (let r = 0; r < REPEATS; r++) {
    calls = []
    const runStart = performance.now()
    const { summary } = yield* run(questions(ITEMS, `r${r}-`))
    const idle = idleOf(runStart, runStart + summary.wallMillis)
    const moduleMean = calls.reduce((n, c) => n + c.end - c.start, 0) / calls.length
    walls.push(summary.wallMillis)
    console.log(
      `  run ${r + 1}: wall ${summary.wallMillis.toFixed(1)} ms = ${(summary.wallMillis / ideal).toFixed(4)}x ideal; ` +
        `failed ${summary.failed}; p50 ${summary.latency.p50.toFixed(1)} ms, p99 ${summary.latency.p99.toFixed(1)} ms; ` +
        `speedup ${summary.speedup.toFixed(2)}x, efficiency ${(summary.efficiency * 100).toFixed(1)}%`
    )
    // wall - ideal = (slower requests) + (slots left idle): the first is the HTTP stack and the
    // server (per request, over the simulated latency, times the rounds), the second the runner
    // (gaps between items, ramp-up and the last round)
    const perRequest = (summary.latency.mean - LATENCY) * (ITEMS / CONCURRENCY)
    const idleMs = summary.wallMillis - summary.sumLatencyMillis / CONCURRENCY
    console.log(
      `         over ideal ${(summary.wallMillis - ideal).toFixed(1)} ms = requests slower than ${LATENCY} ms ` +
        `${perRequest.toFixed(1)} ms (mean ${summary.latency.mean.toFixed(2)} ms x ${ITEMS / CONCURRENCY} rounds) + slots idle ${idleMs.toFixed(1)} ms ` +
        `(ramp-up ${idle.ramp.toFixed(1)}, between items ${idle.middle.toFixed(1)}, last round ${idle.tail.toFixed(1)}); ` +
        `module call mean ${moduleMean.toFixed(2)} ms`
    )
    // the same calls with a bare Effect.forEach, to separate the runner from the HTTP stack
    const items = questions(ITEMS, `bare${r}-`)
    calls = []
    const start = performance.now()
    yield* Effect.forEach(items, (item) => qa(item), { concurrency: CONCURRENCY, discard: true }).pipe(Effect.provide(context))
    const wall = performance.now() - start
    bare.push(wall)
    const bareIdle = idleOf(start, start + wall)
    console.log(
      `         baseline Effect.forEach: wall ${wall.toFixed(1)} ms; slots idle: ramp-up ${bareIdle.ramp.toFixed(1)}, ` +
        `between items ${bareIdle.middle.toFixed(1)}, last round ${bareIdle.tail.toFixed(1)}`
    )
  }
  console.log(`  baseline Effect.forEach (same model, no runner): ${bare.map((w) => `${w.toFixed(1)} ms`).join(", ")}`)
  const best = Math.min(...walls)
  const median = [...walls].sort((a, b) => a - b)[Math.floor(walls.length / 2)]!
  console.log(`  best ${best.toFixed(1)} ms (${((best / ideal - 1) * 100).toFixed(2)}% over ideal), median ${median.toFixed(1)} ms (${((median / ideal - 1) * 100).toFixed(2)}%)`)
  console.log(`  target: within 2% of ideal -> ${best <= ideal * 1.02 ? "PASS" : "FAIL"} (best run)`)
})

Effect.runPromise(Effect.scoped(program)).catch((e) => {
  console.error(e)
  process.exit(1)
})
