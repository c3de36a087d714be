/**
 * Efficiency: 150 items at concurrency 10 against a server with a fixed 100 ms latency. The ideal
 * wall time is 15 rounds x 100 ms = 1500 ms; the target is to be within 2% of it.
 *
 *   pnpm exec tsx packages/batch/bench/efficiency.ts
 *
 * The simulator runs in a separate process (its own core); SEPARATE_SERVER=0 runs it in this
 * process, SIM_URL=http://127.0.0.1:8787 uses one started apart
 * (pnpm exec tsx packages/simulator/src/bin.ts --port 8787 --latency 100).
 */
import { Predict, Signature } from "@effect-dspy/core"
import { Effect } from "effect"
import { Batch } from "../src/index"
import { machine, model, questions, serverUrl } from "./common"

const qa = Predict.make(Signature.fromString("question -> answer"))
const LATENCY = 100
const ITEMS = 150
const CONCURRENCY = 10
const REPEATS = Number(process.env["REPEATS"] ?? 3)

const program = Effect.gen(function*() {
  const { url, where } = yield* serverUrl(
    { latency: { _tag: "Fixed", millis: LATENCY } },
    { default: true, simulatorArgs: ["--latency", String(LATENCY)] }
  )
  const { context } = yield* model(url, { maxConcurrency: CONCURRENCY })
  const run = (items: ReadonlyArray<{ readonly question: string }>) =>
    Batch.run(qa, items, { concurrency: CONCURRENCY, dedupe: false }).pipe(Effect.provide(context))
  // warm up the JIT and the connection pool
  yield* run(questions(60, "warm-"))
  const ideal = Math.ceil(ITEMS / CONCURRENCY) * LATENCY
  console.log(`efficiency: ${ITEMS} items, concurrency ${CONCURRENCY}, latency ${LATENCY} ms; ideal ${ideal} ms; simulator ${where} (${machine()})`)
  const walls: Array<number> = []
  const bare: Array<number> = []
  for (let r = 0; r < REPEATS; r++) {
    const { summary } = yield* run(questions(ITEMS, `r${r}-`))
    walls.push(summary.wallMillis)
    console.log(
      `  run ${r + 1}: wall ${summary.wallMillis.toFixed(1)} ms = ${(summary.wallMillis / ideal).toFixed(4)}x ideal; ` +
        `failed ${summary.failed}; p50 ${summary.latency.p50.toFixed(1)} ms, p99 ${summary.latency.p99.toFixed(1)} ms; ` +
        `speedup ${summary.speedup.toFixed(2)}x, efficiency ${(summary.efficiency * 100).toFixed(1)}%`
    )
    // the same calls with a bare Effect.forEach, to separate the runner from the HTTP stack
    const items = questions(ITEMS, `bare${r}-`)
    const start = performance.now()
    yield* Effect.forEach(items, (item) => qa(item), { concurrency: CONCURRENCY, discard: true }).pipe(Effect.provide(context))
    bare.push(performance.now() - start)
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
