/**
 * Efficiency at varied latencies: 150 items at concurrency 10, each answered after its own
 * latency, drawn from 0.5-2 s (uniform, seeded) and written into its question (`latency=N`) for
 * a bare server that is never early (`bare.ts`). The ideal is computed from those latencies: the
 * wall time of running them in order with no overhead, each on the slot that frees first.
 *
 * Target: `Batch.run` at least 99% of the ideal (ideal / wall >= 0.99) in its best run.
 *
 *   pnpm exec tsx packages/bench/src/batch/variable.ts        (REPEATS=2 SEED=7)
 */
import { Batch } from "@effect-dspy/batch"
import { Predict, Signature } from "@effect-dspy/core"
import { Effect } from "effect"
import * as Bare from "./bare.js"
import { machine, model } from "./common.js"

const ITEMS = 150
const CONCURRENCY = 10
const REPEATS = Number(process.env["REPEATS"] ?? 2)
const SEED = Number(process.env["SEED"] ?? 7)

const qa = Predict.make(Signature.fromString("question -> answer"))

/** A small seeded generator (mulberry32), so that every run draws the same latencies. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const program = Effect.gen(function*() {
  const server = yield* Effect.acquireRelease(Effect.promise(() => Bare.startServer("on-time", 1000)), (s) => Effect.sync(s.stop))
  const bare = Bare.client(server.base, CONCURRENCY)
  yield* Effect.addFinalizer(() => Effect.sync(bare.close))
  const { context } = yield* model(server.base, { maxConcurrency: CONCURRENCY }, { maxRetries: 0 })
  const next = random(SEED)
  const latencies = Array.from({ length: ITEMS }, () => Math.round(500 + 1500 * next()))
  const ideal = Bare.idealMillis(latencies, CONCURRENCY)
  const items = (tag: string) => latencies.map((latency, i) => ({ question: `Question ${tag}${i} (latency=${latency})?` }))
  // warm up, short items
  yield* Batch.run(qa, Array.from({ length: 40 }, (_, i) => ({ question: `warm ${i} (latency=50)` })), { concurrency: CONCURRENCY, dedupe: false }).pipe(
    Effect.provide(context)
  )
  console.log(
    `variable latency: ${ITEMS} items, concurrency ${CONCURRENCY}, latencies 0.5-2 s (seed ${SEED}, sum ${latencies.reduce((a, b) => a + b, 0)} ms); ` +
      `ideal ${ideal} ms (${machine()})`
  )
  const ratios: Array<number> = []
  for (let r = 0; r < REPEATS; r++) {
    const { summary } = yield* Batch.run(qa, items(`r${r}-`), { concurrency: CONCURRENCY, dedupe: false }).pipe(Effect.provide(context))
    const floor = yield* Effect.promise(() => bare.run(items(`f${r}-`).map((q) => q.question)))
    ratios.push(ideal / summary.wallMillis)
    console.log(
      `  run ${r + 1}: Batch.run ${summary.wallMillis.toFixed(1)} ms = ${((ideal / summary.wallMillis) * 100).toFixed(2)}% of ideal ` +
        `(failed ${summary.failed}); floor ${floor.toFixed(1)} ms = ${((ideal / floor) * 100).toFixed(2)}%`
    )
  }
  const best = Math.max(...ratios)
  console.log(`  best ${(best * 100).toFixed(2)}% of ideal`)
  console.log(`  target: at least 99% of the ideal -> ${best >= 0.99 ? "PASS" : "FAIL"}`)
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
