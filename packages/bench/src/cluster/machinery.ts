/**
 * The CPU cost of the cluster machinery alone: a runner and a coordinator in this process,
 * the in-process simulator as an instant model, and the same items through `Batch.runFile`
 * (the floor: the same program and model, no cluster). The difference per item is what the
 * cluster costs in Node (messages, sockets, the entity, storage queries, the results table);
 * the database's own CPU is read from `/proc` (Linux).
 *
 *   pnpm exec tsx packages/bench/src/cluster/machinery.ts [--items 2000] [--lanes 256] [--concurrency 16]
 *
 * Prints figures, asserts nothing; read them with the load average printed next to them.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Batch from "@effect-dspy/batch/Batch"
import * as Programs from "@effect-dspy/batch/Programs"
import * as Cluster from "@effect-dspy/cluster/Cluster"
import * as DistributedBatch from "@effect-dspy/cluster/DistributedBatch"
import * as LocalPostgres from "@effect-dspy/cluster/LocalPostgres"
import * as Runner from "@effect-dspy/cluster/Runner"
import * as Simulator from "@effect-dspy/simulator/Simulator"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { databaseCpu } from "./processes.js"

const { values } = parseArgs({
  options: {
    items: { type: "string", default: "2000" },
    lanes: { type: "string", default: "256" },
    concurrency: { type: "string", default: "16" }
  }
})
const items = Number(values.items)
const lanes = Number(values.lanes)
const concurrency = Number(values.concurrency)

const ms = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000

const program = Effect.gen(function*() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-dspy-machinery-"))
  const input = path.join(dir, "items.jsonl")
  fs.writeFileSync(input, Array.from({ length: items }, (_, i) => JSON.stringify({ id: `q${i}`, question: `question ${i}` })).join("\n") + "\n")
  const module = Programs.builtIns["qa"]!.module
  const model = Layer.effect(LanguageModel.LanguageModel, Simulator.make())
  const load0 = os.loadavg()

  // the floor: the same items, program and model in one process, no cluster
  const floorCpu = process.cpuUsage()
  yield* Batch.runFile(module, { input, output: path.join(dir, "floor.jsonl"), concurrency, dedupe: false }).pipe(Effect.provide(model))
  const floor = ms(process.cpuUsage(floorCpu)) / items

  const server = yield* LocalPostgres.make()
  const url = yield* server.createDatabase("machinery")
  const port = yield* LocalPostgres.freePort
  yield* Layer.build(Runner.layer({
    database: { url },
    address: Option.getOrThrow(Cluster.parseAddress(`127.0.0.1:${port}`)),
    program: "qa",
    module,
    modelId: "simulator/sim-1",
    model: () => model,
    concurrency,
    statsInterval: "1 hour"
  }))
  // let the runner take its shards
  yield* Effect.sleep("3 seconds")
  const transactions = Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ n: string }>`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = 'machinery'`).pipe(
      Effect.map((rows) => Number(rows[0]?.n ?? 0)),
      Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 }))
    )
  const tx0 = yield* transactions
  const cpu0 = process.cpuUsage()
  const db0 = databaseCpu(server.dataDirectory)
  const started = performance.now()
  const summary = yield* DistributedBatch.run({
    batchId: "machinery",
    input,
    output: path.join(dir, "cluster.jsonl"),
    program: "qa",
    lanes,
    window: 2 * concurrency
  }).pipe(Effect.provide(DistributedBatch.layer({ database: { url } })))
  const wall = (performance.now() - started) / 1000
  const node = ms(process.cpuUsage(cpu0)) / items
  const database = (databaseCpu(server.dataDirectory) - db0) / items
  // (the statistics collector reports with a delay of up to a second)
  yield* Effect.sleep("1500 millis")
  const perItem = ((yield* transactions) - tx0) / items
  fs.rmSync(dir, { recursive: true, force: true })
  console.log(`cluster machinery, one runner and the coordinator in one process, instant model, ${items} items, ${lanes} lanes, concurrency ${concurrency}`)
  console.log(`  ${summary.succeeded} succeeded in ${wall.toFixed(1)} s (${(items / wall).toFixed(0)} items/s)`)
  console.log(`  cpu/item: runner + coordinator ${node.toFixed(2)} ms, database ${database.toFixed(2)} ms; floor (Batch.runFile, same model) ${floor.toFixed(2)} ms`)
  console.log(`  machinery: ${(node + database - floor).toFixed(2)} ms per item; ${perItem.toFixed(1)} database transactions per item`)
  console.log(`  load average before ${load0.map((x) => x.toFixed(2)).join(" ")}, after ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`)
})

Effect.runPromise(
  Effect.scoped(program).pipe(
    Logger.withMinimumLogLevel(LogLevel.Error),
    Effect.provide(NodeContext.layer)
  )
).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
