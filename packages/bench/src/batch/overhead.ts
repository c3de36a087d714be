/**
 * The runner's own CPU per item and the rate control's per request, with a model that answers
 * at once (on the next event-loop turn), so that nothing else is measured: `Batch.run` against a
 * bare `Effect.forEach` of the same module, and `RateControl.withPermit` against the bare call;
 * and `Batch.runFile` (a JSONL input read, an output line per item) against `Batch.run`, for
 * what the file side costs per item.
 *
 *   pnpm exec tsx packages/bench/src/batch/overhead.ts       (ITEMS=1500 ROUNDS=6)
 */
import { Module, Usage } from "@effect-dspy/core"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Batch, RateControl } from "@effect-dspy/batch"
import { machine } from "./common.js"

const ITEMS = Number(process.env["ITEMS"] ?? 1500)
const ROUNDS = Number(process.env["ROUNDS"] ?? 6)
const LATENCY = Number(process.env["LATENCY"] ?? 0)

type In = { readonly n: number }
type Out = { readonly n: number }

// answers on the next turn of the event loop, like a reply arriving (or after LATENCY ms)
const instant: Module.Module<In, Out, never, never> = Module.fromFunction(
  (input: In) =>
    Effect.async((resume) => {
      const answer = () => resume(Effect.succeed({ output: { n: input.n }, usage: Usage.empty, trace: [] }))
      if (LATENCY > 0) {
        const handle = setTimeout(answer, LATENCY + (input.n % 10) * 0.7)
        return Effect.sync(() => clearTimeout(handle))
      }
      const handle = setImmediate(answer)
      return Effect.sync(() => clearImmediate(handle))
    }),
  { name: "instant", kind: "Predict", signature: undefined, predictors: [], withState: () => instant }
)

const cpuMicros = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.suspend(() => {
    const start = process.cpuUsage()
    return Effect.as(effect, undefined).pipe(Effect.map(() => {
      const used = process.cpuUsage(start)
      return (used.user + used.system) / ITEMS
    }))
  })

const program = Effect.gen(function*() {
  console.log(`overhead: ${ITEMS} items at concurrency 10, model latency ${LATENCY} ms, best of ${ROUNDS} rounds (${machine()})`)
  const items = Array.from({ length: ITEMS }, (_, n) => ({ n }))
  const rate = yield* RateControl.make({ maxConcurrency: 10 })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "overhead-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
  const input = path.join(dir, "input.jsonl")
  const output = path.join(dir, "output.jsonl")
  fs.writeFileSync(input, items.map((item) => JSON.stringify({ id: item.n, ...item })).join("\n") + "\n")
  const runs = {
    "Batch.runFile": Effect.suspend(() => {
      fs.rmSync(output, { force: true })
      return Batch.runFile(instant, { input, output, concurrency: 10, dedupe: false }).pipe(Effect.provide(NodeContext.layer), Effect.orDie)
    }),
    "Batch.run": Batch.run(instant, items, { concurrency: 10, dedupe: false }),
    "Effect.forEach": Effect.forEach(items, (item) => instant(item), { concurrency: 10, discard: true }),
    "withPermit(call)": Effect.forEach(items, (item) => rate.withPermit(instant(item)), { concurrency: 10, discard: true })
  }
  const best: Record<string, number> = {}
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(runs)) {
      const micros = yield* cpuMicros(run)
      best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, micros)
    }
  }
  for (const [name, micros] of Object.entries(best)) console.log(`  ${name.padEnd(17)} ${micros.toFixed(1)} us cpu per item`)
  const bare = best["Effect.forEach"]!
  console.log(
    `  runner: ${(best["Batch.run"]! - bare).toFixed(1)} us per item; rate control: ${(best["withPermit(call)"]! - bare).toFixed(1)} us per request; ` +
      `file side: ${(best["Batch.runFile"]! - best["Batch.run"]!).toFixed(1)} us per item`
  )
})

Effect.runPromise(Effect.scoped(program)).catch((e) => {
  console.error(e)
  process.exit(1)
})
