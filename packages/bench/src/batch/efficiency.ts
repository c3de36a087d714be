/**
 * Efficiency at a fixed latency: 150 items at concurrency 10 against a server that answers every
 * request 100 ms after it arrived, never before. The ideal is 15 rounds x 100 ms = 1500 ms; no
 * client reaches it on a real machine, so the target is against the floor measured in the same
 * run, interleaved: a bare `node:http` client against the same bare server (`bare.ts`).
 *
 * Target: the best `Batch.run` within 1.5 points of the best floor run (over the ideal).
 *
 *   pnpm exec tsx packages/bench/src/batch/efficiency.ts        (REPEATS=5 WARMUP=60 LATENCY=100)
 *
 * `Batch.run` runs `Predict` through `Lm.layer("openai-compatible/…")` on the library's HTTP
 * client with a `RateControl` as its limiter, as the `effect-dspy batch` command does. Each run
 * also prints where its time over the ideal went: requests slower than the latency (the HTTP
 * stack, per request, times the rounds) and slots left idle by the runner.
 */
import { Batch } from "@effect-dspy/batch"
import { Predict, Signature } from "@effect-dspy/core"
import { Effect } from "effect"
import * as Bare from "./bare.js"
import { machine, median, model, over, questions } from "./common.js"

const LATENCY = Number(process.env["LATENCY"] ?? 100)
const ITEMS = 150
const CONCURRENCY = 10
const REPEATS = Number(process.env["REPEATS"] ?? 5)
const WARMUP = Number(process.env["WARMUP"] ?? 60)
const IDEAL = Math.ceil(ITEMS / CONCURRENCY) * LATENCY

const qa = Predict.make(Signature.fromString("question -> answer"))

const program = Effect.gen(function*() {
  const server = yield* Effect.acquireRelease(Effect.promise(() => Bare.startServer("on-time", LATENCY)), (s) => Effect.sync(s.stop))
  const bare = Bare.client(server.base, CONCURRENCY)
  yield* Effect.addFinalizer(() => Effect.sync(bare.close))
  const { context } = yield* model(server.base, { maxConcurrency: CONCURRENCY }, { maxRetries: 0 })
  const ours = (tag: string) =>
    Effect.map(
      Batch.run(qa, questions(ITEMS, tag), { concurrency: CONCURRENCY, dedupe: false }).pipe(Effect.provide(context)),
      ({ summary }) => summary
    )
  const floor = (tag: string) => Effect.promise(() => bare.run(questions(ITEMS, tag).map((q) => q.question)))
  // warm up the JIT and both connection pools
  yield* Batch.run(qa, questions(WARMUP, "warm-"), { concurrency: CONCURRENCY, dedupe: false }).pipe(Effect.provide(context))
  yield* floor("warm-")
  console.log(
    `efficiency: ${ITEMS} items, concurrency ${CONCURRENCY}, latency ${LATENCY} ms (a bare server, never early); ideal ${IDEAL} ms (${machine()})`
  )
  const walls = { ours: [] as Array<number>, floor: [] as Array<number> }
  for (let r = 0; r < REPEATS; r++) {
    const floorWall = yield* floor(`f${r}-`)
    walls.floor.push(floorWall)
    const summary = yield* ours(`r${r}-`)
    walls.ours.push(summary.wallMillis)
    // wall - ideal = (requests slower than the latency) + (slots left idle)
    const slower = (summary.latency.mean - LATENCY) * (ITEMS / CONCURRENCY)
    const idle = summary.wallMillis - summary.sumLatencyMillis / CONCURRENCY
    console.log(
      `  run ${r + 1}: Batch.run ${summary.wallMillis.toFixed(1)} ms (${over(summary.wallMillis, IDEAL)}; failed ${summary.failed}; ` +
        `requests slower by ${slower.toFixed(1)} ms, slots idle ${idle.toFixed(1)} ms); floor ${floorWall.toFixed(1)} ms (${over(floorWall, IDEAL)})`
    )
  }
  const best = { ours: Math.min(...walls.ours), floor: Math.min(...walls.floor) }
  const points = (wall: number) => (wall / IDEAL - 1) * 100
  const gap = points(best.ours) - points(best.floor)
  const medianGap = points(median(walls.ours)) - points(median(walls.floor))
  console.log(
    `  best: Batch.run ${best.ours.toFixed(1)} ms (${over(best.ours, IDEAL)} over ideal), floor ${best.floor.toFixed(1)} ms (${over(best.floor, IDEAL)}); ` +
      `gap ${gap.toFixed(2)} points (medians: ${medianGap.toFixed(2)} points)`
  )
  console.log(`  target: best within 1.5 points of the floor -> ${gap <= 1.5 ? "PASS" : "FAIL"}`)
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
