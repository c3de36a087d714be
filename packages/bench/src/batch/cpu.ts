/**
 * Where a short batch run's client CPU goes: the same `Batch.run` as `efficiency.ts` (150 items at
 * concurrency 10 on `Lm.layer("openai-compatible/…")`) against the bare on-time server, at the
 * benchmark's latency and at a short one, and runs ten times as long, each next to the floor's
 * bare client doing the same: CPU per item in all, on the main thread, on other threads (V8's
 * concurrent GC and compilers), the GC's pauses, and the heap before and after.
 *
 * Each latency is measured twice: after its `WARMUP` items (cold for the first latency, as
 * `efficiency.ts` starts) and again after `LONG_WARMUP` more items on each side at
 * `LONG_WARMUP_LATENCY` ms (warm: V8's compilers have settled, as in a long batch); each line
 * says how many items each side had run before it. `LONG_WARMUP=0` skips the second.
 *
 *   pnpm exec tsx packages/bench/src/batch/cpu.ts
 *     (LATENCIES=100,5 SIZES=150,1500 REPEATS=3 WARMUP=300 WARMUP_LATENCY=… LONG_WARMUP=5000 LONG_WARMUP_LATENCY=0)
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
const LONG_WARMUP = Number(process.env["LONG_WARMUP"] ?? 5000)
const LONG_WARMUP_LATENCY = Number(process.env["LONG_WARMUP_LATENCY"] ?? 0)
const CONCURRENCY = 10

// items run so far by each side (a JIT warms with every call, whatever the latency)
const ran: Record<string, number> = {}

const qa = Predict.make(Signature.fromString("question -> answer"))

const program = Effect.gen(function*() {
  console.log(`cpu: Batch.run and the floor's bare client at concurrency ${CONCURRENCY}, best of ${REPEATS} (${machine()})`)
  for (const latency of LATENCIES) {
    const server = yield* Effect.acquireRelease(Effect.promise(() => Bare.startServer("on-time", latency)), (s) => Effect.sync(s.stop))
    const bare = Bare.client(server.base, CONCURRENCY)
    const { context } = yield* model(server.base, { maxConcurrency: CONCURRENCY }, { maxRetries: 0 })
    const runs = {
      "Batch.run": (n: number, tag: string) =>
        Effect.asVoid(Batch.run(qa, questions(n, tag), { concurrency: CONCURRENCY, dedupe: false }).pipe(Effect.provide(context))).pipe(
          Effect.ensuring(Effect.sync(() => void (ran["Batch.run"] = (ran["Batch.run"] ?? 0) + n)))
        ),
      "floor": (n: number, tag: string) =>
        Effect.promise(() => bare.run(questions(n, tag).map((q) => q.question))).pipe(
          Effect.ensuring(Effect.sync(() => void (ran["floor"] = (ran["floor"] ?? 0) + n)))
        )
    }
    for (const run of Object.values(runs)) yield* run(WARMUP, `warm latency=${WARMUP_LATENCY ?? latency} `)
    const measure = Effect.gen(function*() {
      for (const size of SIZES) {
        for (const [name, run] of Object.entries(runs)) {
          const before = ran[name] ?? 0
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
            `  after ${String(before).padStart(5)} items, latency ${String(latency).padStart(3)} ms, ${String(size).padStart(5)} items, ${name.padEnd(9)}: CPU ${us(best!.cpu)} us/item ` +
              `(main ${us(best!.main)}, other threads ${us(best!.others)}; GC pauses ${us(best!.gc)}, ${best!.major} full GC); ` +
              `heap ${(best!.heapBefore / 2 ** 20).toFixed(0)} -> ${(best!.heapAfter / 2 ** 20).toFixed(0)} MiB`
          )
        }
      }
    })
    yield* measure
    if (LONG_WARMUP > 0) {
      for (const run of Object.values(runs)) yield* run(LONG_WARMUP, `long latency=${LONG_WARMUP_LATENCY} `)
      yield* measure
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
