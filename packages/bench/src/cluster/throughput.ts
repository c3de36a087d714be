/**
 * Distributed batches: 1 runner against 3 runners on this machine, at two simulated latencies
 * (uniform 50-200 ms, and uniform 0.5-2 s), in items/s and their ratio; and the CPU per item
 * of the cluster machinery: the runners, the database and the coordinator, measured against
 * the floor of the same work in one process (`Batch.runFile` at the same total concurrency).
 *
 *   pnpm exec tsx packages/bench/src/cluster/throughput.ts [--quick] [--concurrency 16] [--json FILE]
 *
 * Every piece is a public entry point: PostgreSQL is `LocalPostgres` (a throwaway server in a
 * temporary folder; needs the PostgreSQL binaries), the model is the simulator's server in a
 * process of its own (its CPU is the provider's, not counted), the runners are the
 * `effect-dspy-cluster runner` command in processes of their own, the coordinator is
 * `DistributedBatch.run` in this process.
 *
 * CPU: runners and the database from `/proc` (the database: the postmaster, its live backends,
 * and the backends that ended, through the postmaster's children times), the coordinator from
 * `process.cpuUsage()`, each over the batch alone (start-up excluded). Linux only. Prints
 * figures, asserts nothing. On a shared machine, read the load average printed with them.
 */
import * as Batch from "@effect-dspy/batch/Batch"
import * as Programs from "@effect-dspy/batch/Programs"
import * as DistributedBatch from "@effect-dspy/cluster/DistributedBatch"
import * as LocalPostgres from "@effect-dspy/cluster/LocalPostgres"
import * as Lm from "@effect-dspy/providers/Lm"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { binOf, type Child, cpuOf, databaseCpu, startNode } from "./processes.js"

/** A TypeScript entry point run with tsx. */
const start = (name: string, script: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Child =>
  startNode(name, ["--import", "tsx", script, ...args], env)

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    concurrency: { type: "string", default: "16" },
    json: { type: "string" }
  }
})
const quick = values.quick
const concurrency = Number(values.concurrency)
// the runners and coordinators are the effect-dspy command (the cli package mounts the cluster's)
const clusterBin = binOf("@effect-dspy/cli", "effect-dspy")
const simulatorBin = binOf("@effect-dspy/simulator", "effect-dspy-simulator")

interface Profile {
  readonly name: string
  readonly latency: string
  readonly items: number
}
const profiles: ReadonlyArray<Profile> = [
  { name: "50-200 ms", latency: "uniform:50-200", items: quick ? 300 : 1500 },
  { name: "0.5-2 s", latency: "uniform:500-2000", items: quick ? 100 : 400 }
]
const runnerCounts = [1, 3]

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

const waitUntil = async (what: string, condition: () => Promise<boolean>, timeoutMillis = 120_000) => {
  const deadline = Date.now() + timeoutMillis
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(200)
  }
}

// -----------------------------------------------------------------------------
// runs
// -----------------------------------------------------------------------------

interface Row {
  readonly profile: string
  readonly runners: number
  readonly items: number
  readonly wallSeconds: number
  readonly itemsPerSecond: number
  readonly cpuMsPerItem: { readonly runners: number; readonly database: number; readonly coordinator: number; readonly total: number }
}

const silent = Logger.withMinimumLogLevel(LogLevel.Error)

const writeItems = (file: string, n: number) =>
  fs.writeFileSync(file, Array.from({ length: n }, (_, i) => JSON.stringify({ id: `q${i + 1}`, question: `question number ${i + 1}` })).join("\n") + "\n")

const clusterRun = async (
  server: LocalPostgres.LocalPostgres,
  simulatorUrl: string,
  profile: Profile,
  runners: number,
  dir: string
): Promise<Row> => {
  const dbName = `bench_${profile.latency.replace(/\W/g, "_")}_${runners}`
  const url = await Effect.runPromise(server.createDatabase(dbName))
  const children: Array<Child> = []
  const ports: Array<number> = []
  for (let i = 0; i < runners; i++) {
    const port = await Effect.runPromise(LocalPostgres.freePort)
    ports.push(port)
    children.push(start("runner", clusterBin, [
      "runner",
      "--cluster",
      url,
      "--listen",
      `127.0.0.1:${port}`,
      "--concurrency",
      String(concurrency),
      "--model",
      "openai-compatible/sim-1"
    ], { OPENAI_COMPATIBLE_BASE_URL: `${simulatorUrl}/v1` }))
  }
  const pool = PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })
  const count = (query: string) =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const sql = yield* PgClient.PgClient
      const rows = yield* sql.unsafe<{ n: string }>(query)
      return Number(rows[0]?.n ?? 0)
    }).pipe(Effect.provide(pool), Effect.orElseSucceed(() => 0))))
  await waitUntil(`${runners} runner(s)`, async () => {
    for (const c of children) if (c.process.exitCode !== null) throw new Error(`a runner exited:\n${c.output()}`)
    return (await count("SELECT count(*) AS n FROM effect_dspy_runners")) >= runners
  })
  // let the shard assignment settle
  await sleep(3000)
  const input = path.join(dir, `${dbName}.jsonl`)
  const output = path.join(dir, `${dbName}.out.jsonl`)
  writeItems(input, profile.items)

  const runnerCpu = () => children.reduce((n, c) => n + (cpuOf(c.process.pid!)?.self ?? 0), 0)
  const cpu0 = { runners: runnerCpu(), database: databaseCpu(server.dataDirectory), coordinator: process.cpuUsage() }
  const started = performance.now()
  const summary = await Effect.runPromise(
    DistributedBatch.run({ batchId: "bench", input, output, program: "qa", window: 2 * runners * concurrency }).pipe(
      Effect.provide(DistributedBatch.layer({ database: { url } })),
      Effect.provide(NodeContext.layer),
      silent
    )
  )
  const wall = (performance.now() - started) / 1000
  const coordinatorCpu = process.cpuUsage(cpu0.coordinator)
  const runnersMs = runnerCpu() - cpu0.runners
  const databaseMs = databaseCpu(server.dataDirectory) - cpu0.database
  const coordinatorMs = (coordinatorCpu.user + coordinatorCpu.system) / 1000
  if (summary.succeeded !== profile.items) throw new Error(`only ${summary.succeeded} of ${profile.items} items succeeded`)
  for (const c of children) c.process.kill("SIGTERM")
  await Promise.all(children.map((c) => c.exited))
  const per = (ms: number) => ms / profile.items
  return {
    profile: profile.name,
    runners,
    items: profile.items,
    wallSeconds: wall,
    itemsPerSecond: profile.items / wall,
    cpuMsPerItem: {
      runners: per(runnersMs),
      database: per(databaseMs),
      coordinator: per(coordinatorMs),
      total: per(runnersMs + databaseMs + coordinatorMs)
    }
  }
}

/** The same work in one process: `Batch.runFile` at the same total concurrency, its CPU per item. */
const floorRun = async (simulatorUrl: string, profile: Profile, runners: number, dir: string) => {
  const input = path.join(dir, `floor-${profile.latency.replace(/\W/g, "_")}-${runners}.jsonl`)
  const output = path.join(dir, `floor-${profile.latency.replace(/\W/g, "_")}-${runners}.out.jsonl`)
  writeItems(input, profile.items)
  const model = Lm.layer("openai-compatible/sim-1", { baseUrl: `${simulatorUrl}/v1` })
  const cpu0 = process.cpuUsage()
  const started = performance.now()
  const summary = await Effect.runPromise(
    Batch.runFile(Programs.builtIns["qa"]!.module, { input, output, concurrency: runners * concurrency, dedupe: false }).pipe(
      Effect.provide(Layer.merge(model, NodeContext.layer)),
      silent
    )
  )
  const wall = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpu0)
  return { items: summary.finished, itemsPerSecond: summary.finished / wall, cpuMsPerItem: (cpu.user + cpu.system) / 1000 / summary.finished }
}

const main = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-dspy-cluster-bench-"))
  const load0 = os.loadavg()
  const rows: Array<Row> = []
  const floors: Array<{ readonly profile: string; readonly runners: number; readonly itemsPerSecond: number; readonly cpuMsPerItem: number }> = []
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const server = yield* LocalPostgres.make()
    for (const profile of profiles) {
      const simulatorPort = yield* LocalPostgres.freePort
      const simulator = start("simulator", simulatorBin, ["--port", String(simulatorPort), "--latency", profile.latency, "--seed", "7"])
      const simulatorUrl = `http://127.0.0.1:${simulatorPort}`
      yield* Effect.promise(() => waitUntil("the simulator", async () => simulator.output().includes("http://")))
      for (const runners of runnerCounts) {
        const row = yield* Effect.promise(() => clusterRun(server, simulatorUrl, profile, runners, dir))
        rows.push(row)
        const floor = yield* Effect.promise(() => floorRun(simulatorUrl, profile, runners, dir))
        floors.push({ profile: profile.name, runners, ...floor })
        console.log(
          `${profile.name.padEnd(10)} ${String(runners).padStart(2)} runner(s)  ${row.items} items  ${row.wallSeconds.toFixed(1)} s  ${
            row.itemsPerSecond.toFixed(1)
          } items/s  cpu/item ${row.cpuMsPerItem.total.toFixed(2)} ms (runners ${row.cpuMsPerItem.runners.toFixed(2)}, database ${
            row.cpuMsPerItem.database.toFixed(2)
          }, coordinator ${row.cpuMsPerItem.coordinator.toFixed(2)}); one process at concurrency ${runners * concurrency}: ${
            floor.itemsPerSecond.toFixed(1)
          } items/s, cpu/item ${floor.cpuMsPerItem.toFixed(2)} ms`
        )
      }
      simulator.process.kill("SIGTERM")
      yield* Effect.promise(() => simulator.exited)
    }
  }).pipe(Effect.provide(NodeContext.layer))))
  fs.rmSync(dir, { recursive: true, force: true })
  const load1 = os.loadavg()

  console.log(`\nDistributed batches: concurrency ${concurrency} per runner, program qa, simulator on loopback`)
  console.log("latency     runners  items/s   ratio   cpu ms/item: runners  database  coordinator  total   floor  machinery")
  for (const profile of profiles) {
    const one = rows.find((r) => r.profile === profile.name && r.runners === 1)!
    for (const row of rows.filter((r) => r.profile === profile.name)) {
      const floor = floors.find((f) => f.profile === profile.name && f.runners === row.runners)!
      console.log(
        `${row.profile.padEnd(11)} ${String(row.runners).padStart(7)}  ${row.itemsPerSecond.toFixed(1).padStart(7)}  ${
          (row.itemsPerSecond / one.itemsPerSecond).toFixed(2).padStart(5)
        }x  ${row.cpuMsPerItem.runners.toFixed(2).padStart(19)}  ${row.cpuMsPerItem.database.toFixed(2).padStart(8)}  ${
          row.cpuMsPerItem.coordinator.toFixed(2).padStart(11)
        }  ${row.cpuMsPerItem.total.toFixed(2).padStart(5)}  ${floor.cpuMsPerItem.toFixed(2).padStart(6)}  ${
          (row.cpuMsPerItem.total - floor.cpuMsPerItem).toFixed(2).padStart(9)
        }`
      )
    }
  }
  console.log(
    `(floor: the same items in one process, Batch.runFile at the same total concurrency; machinery = total - floor)\n` +
      `load average before ${load0.map((x) => x.toFixed(2)).join(" ")}, after ${load1.map((x) => x.toFixed(2)).join(" ")}, ${os.cpus().length} cores`
  )
  if (values.json !== undefined) {
    fs.writeFileSync(values.json, JSON.stringify({ concurrency, rows, floors, loadAverage: { before: load0, after: load1 } }, null, 2))
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
