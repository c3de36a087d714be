/**
 * Efficiency at a fixed latency: 150 items at concurrency 10 against a server that answers every
 * request 100 ms after it arrived, never before. The ideal is 15 rounds x 100 ms = 1500 ms; no
 * client reaches it on a real machine, so the target is against the floor measured in the same
 * run, interleaved: a bare `node:http` client against the same bare server (`bare.ts`).
 *
 * Target: the best `Batch.run` within 1.5 points of the best floor run (over the ideal).
 *
 *   pnpm exec tsx packages/bench/src/batch/efficiency.ts        (REPEATS=5 WARMUP=300 LATENCY=100 HTTP_CLIENT=undici|node|both)
 *
 * `Batch.run` runs `Predict` through `Lm.layer("openai-compatible/…")` on the library's HTTP
 * client with a `RateControl` as its limiter, as the `effect-dspy batch` command does. Each run
 * also prints where its time over the ideal went: requests slower than the latency (the HTTP
 * stack, per request, times the rounds) and slots left idle by the runner, and the client's CPU
 * per item (this process's user + system time over the run, the server being another process).
 * `HTTP_CLIENT=node` runs the model on the platform's `node:http` client instead of undici;
 * `HTTP_CLIENT=both` runs both, interleaved with the floor, each with its own best and gap.
 * `WARMUP` items warm each stack first (the floor's code is tiny; ours needs a few hundred calls
 * before the JIT has compiled its hot paths).
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
// FILE=1: each stack also runs as the `effect-dspy batch` command does, `Batch.runFile` from a
// JSONL file to an output file (a line per item, written as it finishes)
const FILE = process.env["FILE"] === "1"
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
  const critical = Effect.promise(() => Bare.timeline(server.base)).pipe(Effect.map((seen) => Bare.critical(seen, CONCURRENCY)))
  // warm up the JIT and the connection pools, the same number of items on each side
  for (const { context, ours } of contexts) yield* ours(context, `warm latency=${WARMUP_LATENCY} `, WARMUP)
  yield* floor(`warm latency=${WARMUP_LATENCY} `, WARMUP)
  yield* critical
  console.log(
    `efficiency: ${ITEMS} items, concurrency ${CONCURRENCY}, latency ${LATENCY} ms (a bare server, never early); ideal ${IDEAL} ms; ` +
      `warm-up ${WARMUP} items at ${WARMUP_LATENCY} ms (${machine()})`
  )
  const walls: Record<string, Array<number>> = { floor: [] }
  for (const { client } of contexts) walls[client] = []
  for (let r = 0; r < REPEATS; r++) {
    const { value: floorWall, ...floorCpu } = yield* withCpu(floor(`f${r}-`))
    const floorPath = yield* critical
    walls["floor"]!.push(floorWall)
    const parts: Array<string> = []
    for (const { client, context, ours } of contexts) {
      const { value: summary, ...cpu } = yield* withCpu(ours(context, `r${r}${client}-`))
      const path = yield* critical
      walls[client]!.push(summary.wallMillis)
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
  console.log(`  target: best within 1.5 points of the floor -> ${pass ? "PASS" : "FAIL"}`)
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
