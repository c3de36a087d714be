/**
 * A distributed batch with one runner killed: the issue's "done when" run, reproducible.
 *
 *   pnpm exec tsx packages/bench/src/cluster/kill-one.ts [--items 5000] [--runners 3] [--concurrency 8] [--latency 100]
 *
 * Every piece is a real process on loopback: a throwaway PostgreSQL (`LocalPostgres`; needs the
 * PostgreSQL binaries), the simulator server in a process of its own (`startSimulator`, fixed
 * latency), `--runners` runners and the coordinator as the `effect-dspy` command
 * (`runner --cluster …` and `batch --cluster …`). Once a third of the items have a result row,
 * the first runner is killed with SIGKILL; the batch then runs to its end on the others.
 *
 * Then it checks and prints: the coordinator's exit code, the output's lines and distinct ids
 * (and any id missing or repeated), the result rows in the database (rows, distinct ids, rows
 * written per runner), the model calls the simulator received against the items, and the
 * wall time of the batch. The last line says whether every item ended exactly once; the script
 * exits 1 when not (a defect to report, with the lines above as its evidence).
 */
import * as LocalPostgres from "@effect-dspy/cluster/LocalPostgres"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { latency, runHeader, startSimulator } from "../harness/measure.js"
import { binOf, type Child, startNode } from "./processes.js"

const { values } = parseArgs({
  options: {
    items: { type: "string", default: "5000" },
    runners: { type: "string", default: "3" },
    concurrency: { type: "string", default: "8" },
    latency: { type: "string", default: "100" }
  }
})
const positive = (name: string, value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${value}"`)
  return n
}
const items = positive("items", values.items)
const runnerCount = positive("runners", values.runners)
const concurrency = positive("concurrency", values.concurrency)
if (runnerCount < 2) throw new Error("--runners must be at least 2: one is killed, the others finish the batch")
const latencySpec = latency(values.latency)
const batchId = "kill-one"

/** The `effect-dspy` command, by the `bin` entry of the cli package (in this repository: `dev/effect-dspy.mjs`, on the sources). */
const effectDspy = binOf("@effect-dspy/cli", "effect-dspy")

// -----------------------------------------------------------------------------
// processes
// -----------------------------------------------------------------------------

/** `effect-dspy <args>` in a process of its own; SIGKILLed when the scope closes, if still running. */
const command = (name: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => startNode(name, [effectDspy, ...args], env)),
    (child) =>
      Effect.promise(async () => {
        if (child.hasExited()) return
        child.process.kill("SIGKILL")
        await child.exited
      })
  )

const tail = (children: ReadonlyArray<Child>) => children.map((c) => `--- ${c.name}\n${c.output().slice(-3000)}`).join("\n")

/** Polls until `condition` holds; fails if a watched process exits first or the time runs out. */
const waitFor = <E, R>(what: string, condition: Effect.Effect<boolean, E, R>, watch: ReadonlyArray<Child>, timeoutMillis: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMillis
    while (!(yield* condition)) {
      const gone = watch.find((c) => c.hasExited())
      if (gone !== undefined) return yield* Effect.fail(new Error(`${gone.name} exited before ${what}\n${tail([gone])}`))
      if (Date.now() > deadline) return yield* Effect.fail(new Error(`timed out waiting for ${what}\n${tail(watch)}`))
      yield* Effect.sleep("200 millis")
    }
  })

// -----------------------------------------------------------------------------
// the run
// -----------------------------------------------------------------------------

const count = (rows: ReadonlyArray<{ readonly n: string }>) => Number(rows[0]?.n ?? 0)
const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(" ")
const minutes = (seconds: number) => `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`

const run = Effect.gen(function*() {
  console.log(runHeader())
  console.log(`items ${items}, runners ${runnerCount} at concurrency ${concurrency}, program qa, simulator latency ${values.latency} ms`)
  const loadBefore = loadAverage()

  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-dspy-kill-one-"))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
  const server = yield* LocalPostgres.make()
  const url = yield* server.createDatabase("kill_one")
  const sql = yield* Layer.build(PgClient.layer({ url: Redacted.make(url), maxConnections: 2 })).pipe(
    Effect.flatMap((context) => Effect.provide(SqlClient.SqlClient, context))
  )
  const query = (text: string) => sql.unsafe<{ n: string }>(text).pipe(Effect.map(count), Effect.orElseSucceed(() => 0))
  const resultRows = query(`SELECT count(*) AS n FROM effect_dspy_results WHERE batch_id = '${batchId}'`)

  const simulator = yield* Effect.acquireRelease(
    Effect.promise(() => startSimulator({ latency: latencySpec })),
    (s) => Effect.sync(() => s.stop())
  )
  const counters = Effect.promise(async () => {
    const response = await fetch(`${simulator.url}/_sim/counters`)
    return (await response.json()) as { readonly requests: number; readonly completed: number; readonly abortedByClient: number }
  })

  const runners: Array<{ readonly child: Child; readonly address: string }> = []
  for (let i = 0; i < runnerCount; i++) {
    const port = yield* LocalPostgres.freePort
    const address = `127.0.0.1:${port}`
    const args = [
      "runner",
      "--cluster",
      url,
      "--listen",
      address,
      "--program",
      "qa",
      "--concurrency",
      String(concurrency),
      "--model",
      "openai-compatible/sim-1",
      "--health-check-interval",
      "1"
    ]
    const child = yield* command(`runner ${i + 1} (${address})`, args, { OPENAI_COMPATIBLE_BASE_URL: `${simulator.url}/v1` })
    runners.push({ child, address })
  }
  const runnerChildren = runners.map((r) => r.child)
  yield* waitFor(
    `${runnerCount} runners serving`,
    Effect.map(query("SELECT count(*) AS n FROM effect_dspy_runners"), (n) => n >= runnerCount),
    runnerChildren,
    120_000
  )
  // let the shard assignment settle before items flow
  yield* Effect.sleep("3 seconds")

  const input = path.join(dir, "items.jsonl")
  const output = path.join(dir, "results.jsonl")
  fs.writeFileSync(
    input,
    Array.from({ length: items }, (_, i) => JSON.stringify({ id: `q${i + 1}`, question: `question number ${i + 1}` })).join("\n") + "\n"
  )
  const batchArgs = ["batch", "--cluster", url, "--batch-id", batchId, "--program", "qa", "--input", input, "--output", output]
  console.log(`runners: effect-dspy ${["runner", "--cluster", "<url>", "--listen", "127.0.0.1:<port>", "--program", "qa", "--concurrency", String(concurrency), "--model", "openai-compatible/sim-1", "--health-check-interval", "1"].join(" ")}`)
  console.log(`batch:   effect-dspy batch --cluster <url> --batch-id ${batchId} --program qa --input items.jsonl --output results.jsonl`)

  const callsBefore = (yield* counters).requests
  const started = performance.now()
  const coordinator = yield* command("coordinator", batchArgs)

  // kill the first runner once a third of the items are stored
  const killed = runners[0]!
  yield* waitFor("a third of the results", Effect.map(resultRows, (n) => n >= items / 3), [coordinator, ...runnerChildren], 1_800_000)
  killed.child.process.kill("SIGKILL")
  yield* Effect.promise(() => killed.child.exited)
  const rowsAtKill = yield* resultRows
  const killedAfter = (performance.now() - started) / 1000
  console.log(`killed ${killed.child.name} with SIGKILL after ${rowsAtKill} results (${killedAfter.toFixed(1)} s)`)

  const others = runnerChildren.filter((c) => c !== killed.child)
  const exit = yield* Effect.promise(() => coordinator.exited).pipe(
    Effect.timeoutFail({ duration: "30 minutes", onTimeout: () => new Error(`the batch did not end in 30 minutes\n${tail([coordinator, ...others])}`) })
  )
  const wall = (performance.now() - started) / 1000
  const calls = (yield* counters).requests - callsBefore
  const deadRunners = others.filter((c) => c.hasExited())

  // the output file
  const text = fs.existsSync(output) ? fs.readFileSync(output, "utf8") : ""
  const lines = text.split("\n")
  const torn = lines.pop() !== ""
  const records = lines.map((line) => JSON.parse(line) as { readonly id: string; readonly status: string })
  const seen = new Map<string, number>()
  for (const r of records) seen.set(r.id, (seen.get(r.id) ?? 0) + 1)
  const repeated = [...seen].filter(([, n]) => n > 1)
  const missing = Array.from({ length: items }, (_, i) => `q${i + 1}`).filter((id) => !seen.has(id))
  const succeeded = records.filter((r) => r.status === "success").length

  // the database
  const rows = yield* resultRows
  const distinctRows = yield* query(`SELECT count(DISTINCT item_id) AS n FROM effect_dspy_results WHERE batch_id = '${batchId}'`)
  const perWriter = yield* sql<{ written_by: string; n: string }>`
    SELECT written_by, count(*) AS n FROM effect_dspy_results WHERE batch_id = ${batchId} GROUP BY written_by`
  const runnerIndex = (address: string) => {
    const i = runners.findIndex((r) => r.address === address)
    return i < 0 ? runners.length : i
  }
  const writer = (address: string) => {
    const i = runnerIndex(address)
    return i === runners.length ? address : `runner ${i + 1}${runners[i] === killed ? " (killed)" : ""}`
  }

  console.log("")
  console.log(`batch exit code        ${exit.code ?? `signal ${exit.signal}`}`)
  console.log(`output lines           ${records.length}${torn ? " (and a torn last line)" : ""}, ${succeeded} success`)
  console.log(`distinct ids           ${seen.size} of ${items}`)
  console.log(`ids missing            ${missing.length}${missing.length > 0 ? `: ${missing.slice(0, 20).join(" ")}${missing.length > 20 ? " …" : ""}` : ""}`)
  console.log(
    `ids repeated           ${repeated.length}${repeated.length > 0 ? `: ${repeated.slice(0, 20).map(([id, n]) => `${id}×${n}`).join(" ")}` : ""}`
  )
  console.log(`result rows            ${rows} (${distinctRows} distinct ids)`)
  console.log(`rows per writer        ${[...perWriter].sort((a, b) => runnerIndex(a.written_by) - runnerIndex(b.written_by)).map((w) => `${writer(w.written_by)} ${w.n}`).join(", ")}`)
  console.log(`killed after           ${rowsAtKill} results`)
  console.log(`model calls            ${calls} for ${items} items (${((calls / items - 1) * 100).toFixed(2)}% over)`)
  console.log(`wall time              ${wall.toFixed(1)} s (${minutes(wall)}), ${(items / wall).toFixed(1)} items/s`)
  console.log(`load average           before ${loadBefore}, after ${loadAverage()}, ${os.cpus().length} cores`)
  if (deadRunners.length > 0) console.log(`runners that died on their own: ${deadRunners.map((c) => c.name).join(", ")}\n${tail(deadRunners)}`)

  const exactlyOnce = exit.code === 0 && !torn && records.length === items && seen.size === items && rows === items &&
    distinctRows === items
  console.log(`exactly once           ${exactlyOnce ? "yes" : "NO"}`)
  if (!exactlyOnce) {
    console.log(tail([coordinator, ...others]))
    process.exitCode = 1
  }
  // a graceful stop for the runners left (the scope SIGKILLs any that is still running)
  for (const c of others) c.process.kill("SIGTERM")
  yield* Effect.promise(() => Promise.all(others.map((c) => c.exited))).pipe(Effect.timeout("30 seconds"), Effect.ignore)
})

Effect.runPromise(Effect.scoped(run).pipe(Effect.provide(NodeContext.layer))).catch((error) => {
  console.error(error)
  process.exit(1)
})
