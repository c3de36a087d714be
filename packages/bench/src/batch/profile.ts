/**
 * Where the client's CPU goes in the measured window of `efficiency.ts`, and only there: the
 * same `Batch.run` (150 items at concurrency 10 on `Lm.layer("openai-compatible/…")` against the
 * bare on-time server), warmed up first, then `RUNS` runs under V8's sampling profiler (started
 * after the warm-up, stopped before the report). It prints the self time per item by package
 * (effect, @effect/platform, undici, our packages, Node's internals, GC) and the top functions.
 * `WARMUP_LATENCY=0` makes a long warm-up quick; comparing `WARMUP=300` with `WARMUP=5000` shows
 * what a cold JIT costs in the measured window. `LATENCY=0` profiles the saturated case.
 *
 *   pnpm exec tsx packages/bench/src/batch/profile.ts
 *     (WARMUP=300 WARMUP_LATENCY=100 LATENCY=100 RUNS=3 TOP=25 HTTP_CLIENT=undici|undici-pool|node OUT=file.cpuprofile TRACE=0|1)
 */
import { Batch } from "@effect-dspy/batch"
import { Predict, Signature } from "@effect-dspy/core"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as v8 from "node:v8"
import { Session } from "node:inspector/promises"
import * as Bare from "./bare.js"
import { machine, model, questions, withCpu } from "./common.js"

const LATENCY = Number(process.env["LATENCY"] ?? 100)
const WARMUP = Number(process.env["WARMUP"] ?? 300)
const WARMUP_LATENCY = Number(process.env["WARMUP_LATENCY"] ?? LATENCY)
const RUNS = Number(process.env["RUNS"] ?? 3)
const TOP = Number(process.env["TOP"] ?? 25)
const OUT = process.env["OUT"]
// TRACE=1: V8 traces its optimizations and deoptimizations in the measured window only (to
// stdout, from V8 itself: count them with `grep -c`), instead of profiling
const TRACE = process.env["TRACE"] === "1"
const ITEMS = 150
const CONCURRENCY = 10

const qa = Predict.make(Signature.fromString("question -> answer"))

/** The parts of a V8 CPU profile this script reads. */
interface Profile {
  readonly nodes: ReadonlyArray<{
    readonly id: number
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  }>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** Which package a script URL belongs to (V8's pseudo-frames keep their own names). */
const bucketOf = (url: string, name: string): string => {
  if (url === "") return name.startsWith("(") ? name : "(native)"
  const pnpm = /node_modules\/\.pnpm\/([^/]+)\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pnpm !== null) return pnpm[2]!
  const ours = /packages\/([^/]+)\/(?:src|dist)\//.exec(url)
  if (ours !== null) return `@effect-dspy/${ours[1]}`
  if (url.startsWith("node:")) return "node internals"
  return url
}

const report = (profile: Profile, items: number) => {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
  const bucket = new Map<string, number>()
  const fn = new Map<string, number>()
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = byNode.get(profile.samples[i]!)!
    const micros = profile.timeDeltas[i + 1] ?? 0
    const b = bucketOf(frame.url, frame.functionName)
    bucket.set(b, (bucket.get(b) ?? 0) + micros)
    const f = `${frame.functionName || "(anonymous)"} ${frame.url.replace(/.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, "").replace(/.*\/packages\//, "")}:${frame.lineNumber + 1}`
    fn.set(f, (fn.get(f) ?? 0) + micros)
    if (b !== "(idle)") total += micros
  }
  const perItem = (micros: number) => (micros / items).toFixed(0).padStart(6)
  console.log(`  sampled, not idle: ${perItem(total)} us/item; self time by package (us/item):`)
  for (const [b, micros] of [...bucket].sort((x, y) => y[1] - x[1])) if (b !== "(idle)") console.log(`    ${perItem(micros)}  ${b}`)
  console.log(`  top ${TOP} functions by self time (us/item):`)
  for (const [f, micros] of [...fn].sort((x, y) => y[1] - x[1]).slice(0, TOP)) if (!f.startsWith("(idle)")) console.log(`    ${perItem(micros)}  ${f}`)
}

const program = Effect.gen(function*() {
  const server = yield* Effect.acquireRelease(Effect.promise(() => Bare.startServer("on-time", LATENCY)), (s) => Effect.sync(s.stop))
  const { context } = yield* model(server.base, { maxConcurrency: CONCURRENCY }, { maxRetries: 0 })
  const run = (n: number, tag: string) =>
    Effect.asVoid(Batch.run(qa, questions(n, tag), { concurrency: CONCURRENCY, dedupe: false }).pipe(Effect.provide(context)))
  yield* run(WARMUP, `warm latency=${WARMUP_LATENCY} `)
  if (TRACE) {
    console.log(`trace: ${RUNS} x ${ITEMS} items after ${WARMUP} warm-up items at ${WARMUP_LATENCY} ms (${machine()})`)
    v8.setFlagsFromString("--trace-opt")
    v8.setFlagsFromString("--trace-deopt")
    const cpu = yield* withCpu(Effect.forEach(Array.from({ length: RUNS }, (_, r) => r), (r) => run(ITEMS, `p${r}-`), { discard: true }))
    v8.setFlagsFromString("--no-trace-opt")
    v8.setFlagsFromString("--no-trace-deopt")
    console.log(`  client CPU ${(cpu.cpuMillis / (RUNS * ITEMS) * 1000).toFixed(0)} us/item, tracing included`)
    return
  }
  const session = new Session()
  session.connect()
  yield* Effect.promise(() => session.post("Profiler.enable"))
  yield* Effect.promise(() => session.post("Profiler.setSamplingInterval", { interval: 100 }))
  yield* Effect.promise(() => session.post("Profiler.start"))
  const cpu = yield* withCpu(Effect.forEach(Array.from({ length: RUNS }, (_, r) => r), (r) => run(ITEMS, `p${r}-`), { discard: true }))
  const { profile } = yield* Effect.promise(() => session.post("Profiler.stop"))
  session.disconnect()
  if (OUT !== undefined) fs.writeFileSync(OUT, JSON.stringify(profile))
  const items = RUNS * ITEMS
  console.log(
    `profile: ${RUNS} x ${ITEMS} items at concurrency ${CONCURRENCY}, latency ${LATENCY} ms, after ${WARMUP} warm-up items at ${WARMUP_LATENCY} ms (${machine()})`
  )
  console.log(
    `  client CPU ${(cpu.cpuMillis / items * 1000).toFixed(0)} us/item (main thread ${cpu.mainMillis === undefined ? "?" : (cpu.mainMillis / items * 1000).toFixed(0)}, ` +
      `other threads ${cpu.otherThreadsMillis === undefined ? "?" : (cpu.otherThreadsMillis / items * 1000).toFixed(0)}; GC pauses ${(cpu.gcPauseMillis / items * 1000).toFixed(0)}), profiler included`
  )
  report(profile as unknown as Profile, items)
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
