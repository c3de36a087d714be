/**
 * Efficiency at a fixed latency: 150 items at concurrency 10 against a server that answers every
 * request 100 ms after it arrived, never before. The ideal is 15 rounds x 100 ms = 1500 ms; no
 * client reaches it on a real machine, so the target is against the floor measured in the same
 * run, interleaved: a bare `node:http` client against the same bare server (`bare.ts`).
 *
 * Target: the best `Batch.run` within 1.5 points of the best floor run (over the ideal).
 *
 *   pnpm exec tsx packages/bench/src/batch/efficiency.ts
 *     (REPEATS=5 WARMUP=300 WARMUP_LATENCY=100 LONG_WARMUP=5000 LONG_WARMUP_LATENCY=0 LATENCY=100
 *      HTTP_CLIENT=undici|undici-pool|node|both|a,b,… FILE=0|1 TIMELINE=0|1)
 *
 * `Batch.run` runs `Predict` through `Lm.layer("openai-compatible/…")` on the library's HTTP
 * client with a `RateControl` as its limiter, as the `effect-dspy batch` command does. Each run
 * also prints where its time over the ideal went: requests slower than the latency (the HTTP
 * stack, per request, times the rounds) and slots left idle by the runner, and the client's CPU
 * per item (this process's user + system time over the run, the server being another process).
 * `HTTP_CLIENT=node` runs the model on the platform's `node:http` client instead of undici;
 * `HTTP_CLIENT=both` runs both, interleaved with the floor, each with its own best and gap.
 * Each run also prints its critical path as the server saw it (`Bare.critical`): the turnaround
 * from an answer to the next request of the slot it freed, and each round's spread of answers
 * (near 0 when a round's replies come in one bunch); `TIMELINE=1` prints three rounds in full.
 * `WARMUP` items warm each stack first, then the runs are measured twice, both reported, the cold
 * phase first: cold (as a short batch starts: after a few hundred items V8's compilers are
 * still busy, and our CPU per item is ~1.6x what it is warm) and warm (after `LONG_WARMUP` more
 * items on each side at `LONG_WARMUP_LATENCY` ms, as in a long batch; `LONG_WARMUP=0` skips it).
 * `profile.ts` shows where that CPU goes and how many optimizations V8 still makes in the window.
 */
import { Batch } from "@effect-dspy/batch"
import { Predict, Signature } from "@effect-dspy/core"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Bare from "./bare.js"
import { httpClientNames, machine, median, model, over, questions, withCpu } from "./common.js"

const LATENCY = Number(process.env["LATENCY"] ?? 100)
const ITEMS = 150
const CONCURRENCY = 10
const REPEATS = Number(process.env["REPEATS"] ?? 5)
const WARMUP = Number(process.env["WARMUP"] ?? 300)
// the warm-up's items ask the server for this latency (ms), so that a long warm-up is quick
const WARMUP_LATENCY = Number(process.env["WARMUP_LATENCY"] ?? LATENCY)
// after the cold phase, this many more items on each side (at LONG_WARMUP_LATENCY ms, so that it
// is quick), then the warm phase; 0 skips it
const LONG_WARMUP = Number(process.env["LONG_WARMUP"] ?? 5000)
const LONG_WARMUP_LATENCY = Number(process.env["LONG_WARMUP_LATENCY"] ?? 0)
// FILE=1: each stack also runs as the `effect-dspy batch` command does, `Batch.runFile` from a
// JSONL file to an output file (a line per item, written as it finishes)
const FILE = process.env["FILE"] === "1"
// TIMELINE=1: print rounds 2-4 of each side's last run as the server saw them (see `Bare.rounds`)
const TIMELINE = process.env["TIMELINE"] === "1"
const IDEAL = Math.ceil(ITEMS / CONCURRENCY) * LATENCY

const perItem = (millis: number | undefined) => millis === undefined ? "?" : (millis / ITEMS * 1000).toFixed(0)
// the client's CPU per item: in all (main thread + other threads), and the GC's pauses
const cpuLine = (cpu: { cpuMillis: number; mainMillis: number | undefined; otherThreadsMillis: number | undefined; gcPauseMillis: number }) =>
  `client CPU ${perItem(cpu.cpuMillis)} us/item (main thread ${perItem(cpu.mainMillis)}, other threads ${perItem(cpu.otherThreadsMillis)}; GC pauses ${perItem(cpu.gcPauseMillis)})`
// the server's view: from each answer to the next request on its connection, and each round's spread of answers
const pathLine = (path: ReturnType<typeof Bare.critical>) =>
  `turnaround ${path.turnaroundMillis.mean.toFixed(2)} ms (p90 ${path.turnaroundMillis.p90.toFixed(2)}), round spread ${path.roundSpreadMillis.toFixed(2)} ms over ${path.connections} connections`

const qa = Predict.make(Signature.fromString("question -> answer"))

const program = Effect.gen(function*() {
  const server = yield* Effect.acquireRelease(Effect.promise(() => Bare.startServer("on-time", LATENCY)), (s) => Effect.sync(s.stop))
  const bare = Bare.client(server.base, CONCURRENCY)
  yield* Effect.addFinalizer(() => Effect.sync(bare.close))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "efficiency-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
  const built = yield* Effect.forEach(httpClientNames, (client) =>
    Effect.map(model(server.base, { maxConcurrency: CONCURRENCY }, { maxRetries: 0 }, client), ({ context }) => ({ client, context })))
  type Context = (typeof built)[number]["context"]
  const viaRun = (context: Context, tag: string, n = ITEMS) =>
    Effect.map(
      Batch.run(qa, questions(n, tag), { concurrency: CONCURRENCY, dedupe: false }).pipe(Effect.provide(context)),
      ({ summary }) => summary
    )
  const viaFile = (context: Context, tag: string, n = ITEMS) =>
    Effect.suspend(() => {
      const input = path.join(dir, "input.jsonl")
      const output = path.join(dir, "output.jsonl")
      fs.writeFileSync(input, questions(n, tag).map((q, i) => JSON.stringify({ id: i, ...q })).join("\n") + "\n")
      fs.rmSync(output, { force: true })
      return Batch.runFile(qa, { input, output, concurrency: CONCURRENCY, dedupe: false }).pipe(
        Effect.provide(context),
        Effect.provide(NodeContext.layer),
        Effect.orDie
      )
    })
  const contexts = built.flatMap(({ client, context }) => [
    { client, context, ours: viaRun },
    ...(FILE ? [{ client: `${client} runFile`, context, ours: viaFile }] : [])
  ])
  const floor = (tag: string, n = ITEMS) => Effect.promise(() => bare.run(questions(n, tag).map((q) => q.question)))
  // what the server saw of the last run: its critical path
  const timelines: Record<string, ReadonlyArray<Bare.Seen>> = {}
  const critical = (name: string) =>
    Effect.promise(() => Bare.timeline(server.base)).pipe(Effect.map((seen) => {
      timelines[name] = seen
      return Bare.critical(seen, CONCURRENCY)
    }))
  // warm up the JIT and the connection pools, the same number of items on each side
  for (const { context, ours } of contexts) yield* ours(context, `warm latency=${WARMUP_LATENCY} `, WARMUP)
  yield* floor(`warm latency=${WARMUP_LATENCY} `, WARMUP)
  yield* critical("warm-up")
  console.log(
    `efficiency: ${ITEMS} items, concurrency ${CONCURRENCY}, latency ${LATENCY} ms (a bare server, never early); ideal ${IDEAL} ms; ` +
      `warm-up ${WARMUP} items at ${WARMUP_LATENCY} ms (${machine()})`
  )
  // One phase: REPEATS rounds, each the floor then every stack, and the phase's verdict.
  const measure = (phase: "cold" | "warm", what: string) => Effect.gen(function*() {
    console.log(`${phase} (${what}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}:`)
    const walls: Record<string, Array<number>> = { floor: [] }
    for (const { client } of contexts) walls[client] = []
    // per run: CPU per item (us), main thread's (us), turnaround (ms), round spread (ms)
    type Figures = { cpu: Array<number>; main: Array<number>; turnaround: Array<number>; spread: Array<number> }
    const figures: Record<string, Figures> = {}
    const note = (name: string, cpu: { cpuMillis: number; mainMillis: number | undefined }, path: ReturnType<typeof Bare.critical>) => {
      const f = (figures[name] ??= { cpu: [], main: [], turnaround: [], spread: [] })
      f.cpu.push(cpu.cpuMillis / ITEMS * 1000)
      if (cpu.mainMillis !== undefined) f.main.push(cpu.mainMillis / ITEMS * 1000)
      f.turnaround.push(path.turnaroundMillis.mean)
      f.spread.push(path.roundSpreadMillis)
    }
    for (let r = 0; r < REPEATS; r++) {
      const { value: floorWall, ...floorCpu } = yield* withCpu(floor(`f${r}-`))
      const floorPath = yield* critical("floor")
      walls["floor"]!.push(floorWall)
      note("floor", floorCpu, floorPath)
      const parts: Array<string> = []
      for (const { client, context, ours } of contexts) {
        const { value: summary, ...cpu } = yield* withCpu(ours(context, `r${r}${client}-`))
        const path = yield* critical(client)
        walls[client]!.push(summary.wallMillis)
        note(client, cpu, path)
        // wall - ideal = (requests slower than the latency) + (slots left idle)
        const slower = (summary.latency.mean - LATENCY) * (ITEMS / CONCURRENCY)
        const idle = summary.wallMillis - summary.sumLatencyMillis / CONCURRENCY
        parts.push(
          `Batch.run (${client}) ${summary.wallMillis.toFixed(1)} ms (${over(summary.wallMillis, IDEAL)}; failed ${summary.failed}; ` +
            `requests slower by ${slower.toFixed(1)} ms, slots idle ${idle.toFixed(1)} ms; ${cpuLine(cpu)}; ${pathLine(path)})`
        )
      }
      console.log(
        `  run ${r + 1}: ${parts.join("; ")}; floor ${floorWall.toFixed(1)} ms (${over(floorWall, IDEAL)}; ${cpuLine(floorCpu)}; ${pathLine(floorPath)})`
      )
    }
    if (TIMELINE) {
      for (const name of ["floor", ...contexts.map((c) => c.client)]) {
        console.log(`  last run of ${name}, as the server saw it:`)
        for (const line of Bare.rounds(timelines[name] ?? [], CONCURRENCY, 1, 3)) console.log(`    ${line}`)
      }
    }
    const points = (wall: number) => (wall / IDEAL - 1) * 100
    const bestFloor = Math.min(...walls["floor"]!)
    let pass = false
    for (const { client } of contexts) {
      const mine = walls[client]!
      const best = Math.min(...mine)
      const gap = points(best) - points(bestFloor)
      const medianGap = points(median(mine)) - points(median(walls["floor"]!))
      pass ||= gap <= 1.5
      // (the suite reads the first of these lines: the default client's)
      console.log(
        `  best: Batch.run ${best.toFixed(1)} ms (${over(best, IDEAL)} over ideal), floor ${bestFloor.toFixed(1)} ms (${over(bestFloor, IDEAL)}); ` +
          `gap ${gap.toFixed(2)} points (medians: ${medianGap.toFixed(2)} points) [${client}]`
      )
    }
    // the spread of the figures: each run's gap to the floor's run of the same round, and the
    // medians of what each side spent per item and of its critical path
    const perItem = (name: string) => {
      const f = figures[name]!
      return `CPU ${median(f.cpu).toFixed(0)} us/item (main thread ${f.main.length === 0 ? "?" : median(f.main).toFixed(0)}), ` +
        `turnaround ${median(f.turnaround).toFixed(2)} ms, round spread ${median(f.spread).toFixed(2)} ms`
    }
    for (const { client } of contexts) {
      const gaps = walls[client]!.map((wall, r) => points(wall) - points(walls["floor"]![r]!))
      console.log(
        `  medians of runs [${client}]: Batch.run ${perItem(client)}; floor ${perItem("floor")}; ` +
          `gap per run ${gaps.map((g) => g.toFixed(2)).join(" ")} points`
      )
    }
    console.log(`  target: best within 1.5 points of the floor, ${phase} -> ${pass ? "PASS" : "FAIL"}`)
  })
  yield* measure("cold", `after ${WARMUP} warm-up items`)
  // The same code after a long warm-up on both sides: V8's compiler threads settle only after a
  // few thousand items, so a long batch runs warm. Both phases are reported; cold stays first.
  if (LONG_WARMUP > 0) {
    for (const { context, ours } of contexts) yield* ours(context, `long latency=${LONG_WARMUP_LATENCY} `, LONG_WARMUP)
    yield* floor(`long latency=${LONG_WARMUP_LATENCY} `, LONG_WARMUP)
    yield* critical("long warm-up")
    yield* measure("warm", `after ${LONG_WARMUP} more items at ${LONG_WARMUP_LATENCY} ms`)
  }
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
