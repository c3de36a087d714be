/**
 * Where a short batch run's client CPU goes: the same `Batch.run` as `efficiency.ts` (150 items at
 * concurrency 10 on `Lm.layer("openai-compatible/…")`) against the bare on-time server, at the
 * benchmark's latency and at a short one, and runs ten times as long, each next to the floor's
 * bare client doing the same: CPU per item in all, on the main thread, on other threads (V8's
 * concurrent GC and compilers), the GC's pauses, and the heap before and after.
 *
 *   pnpm exec tsx packages/bench/src/batch/cpu.ts      (LATENCIES=100,5 SIZES=150,1500 REPEATS=3 WARMUP=300 WARMUP_LATENCY=…)
 */
import { Batch } from "@effect-dspy/batch"
import { Predict, Signature } from "@effect-dspy/core"
import { Effect } from "effect"
import * as Bare from "./bare.js"
import { machine, model, questions, withCpu } from "./common.js"

const LATENCIES = (process.env["LATENCIES"] ?? "100,5").split(",").map(Number)
const SIZES = (process.env["SIZES"] ?? "150,1500").split(",").map(Number)
const REPEATS = Number(process.env["REPEATS"] ?? 3)
const WARMUP = Number(process.env["WARMUP"] ?? 300)
// the warm-up's items ask the server for this latency (ms; default the run's), so that a long warm-up is quick
const WARMUP_LATENCY = process.env["WARMUP_LATENCY"]
const CONCURRENCY = 10

const qa = Predict.make(Signature.fromString("question -> answer"))

const program = Effect.gen(function*() {
  console.log(`cpu: Batch.run and the floor's bare client at concurrency ${CONCURRENCY}, best of ${REPEATS} (${machine()})`)
  for (const latency of LATENCIES) {
    const server = yield* Effect.acquireRelease(Effect.promise(() => Bare.startServer("on-time", latency)), (s) => Effect.sync(s.stop))
    const bare = Bare.client(server.base, CONCURRENCY)
    const { context } = yield* model(server.base, { maxConcurrency: CONCURRENCY }, { maxRetries: 0 })
    const runs = {
      "Batch.run": (n: number, tag: string) =>
        Effect.asVoid(Batch.run(qa, questions(n, tag), { concurrency: CONCURRENCY, dedupe: false }).pipe(Effect.provide(context))),
      "floor": (n: number, tag: string) => Effect.promise(() => bare.run(questions(n, tag).map((q) => q.question)))
    }
    for (const run of Object.values(runs)) yield* run(WARMUP, `warm latency=${WARMUP_LATENCY ?? latency} `)
    for (const size of SIZES) {
      for (const [name, run] of Object.entries(runs)) {
        let best: { cpu: number; main: number; others: number; gc: number; major: number; heapBefore: number; heapAfter: number } | undefined
        for (let r = 0; r < REPEATS; r++) {
          const heapBefore = process.memoryUsage().heapUsed
          const cpu = yield* withCpu(run(size, `r${r}-`))
          const heapAfter = process.memoryUsage().heapUsed
          if (best === undefined || cpu.cpuMillis < best.cpu) {
            best = { cpu: cpu.cpuMillis, main: cpu.mainMillis ?? NaN, others: cpu.otherThreadsMillis ?? NaN, gc: cpu.gcPauseMillis, major: cpu.gcMajor, heapBefore, heapAfter }
          }
        }
        const us = (ms: number) => (ms / size * 1000).toFixed(0).padStart(5)
        console.log(
          `  latency ${String(latency).padStart(3)} ms, ${String(size).padStart(5)} items, ${name.padEnd(9)}: CPU ${us(best!.cpu)} us/item ` +
            `(main ${us(best!.main)}, other threads ${us(best!.others)}; GC pauses ${us(best!.gc)}, ${best!.major} full GC); ` +
            `heap ${(best!.heapBefore / 2 ** 20).toFixed(0)} -> ${(best!.heapAfter / 2 ** 20).toFixed(0)} MiB`
        )
      }
    }
    bare.close()
    server.stop()
  }
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
