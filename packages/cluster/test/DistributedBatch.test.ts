/**
 * The coordinator's library API with a runner in the same process (the real cluster machinery
 * on loopback and PostgreSQL, the in-process simulator as the model): resuming by batch id,
 * exporting results stored while the coordinator was away, unreadable inputs, runners of
 * another program, and `retryFailed`.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Programs from "@effect-dspy/batch/Programs"
import { Module } from "@effect-dspy/core"
import { Simulator } from "@effect-dspy/simulator"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Clock, Effect, Either, Fiber, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as BatchStore from "../src/BatchStore.js"
import * as Cluster from "../src/Cluster.js"
import * as DistributedBatch from "../src/DistributedBatch.js"
import * as ItemEntity from "../src/ItemEntity.js"
import * as LocalPostgres from "../src/LocalPostgres.js"
import * as Operations from "../src/Operations.js"
import * as Runner from "../src/Runner.js"
import * as RunnerRegistry from "../src/RunnerRegistry.js"
import * as Tables from "../src/Tables.js"
import * as Pg from "./utils/postgres.js"
import * as P from "./utils/processes.js"

const live = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.withClock(self, Clock.make())

/** Starts a runner in this process (in the scope); its model's calls are counted. */
const startRunner = (url: string, program: string, module: Programs.Runnable) =>
  Effect.gen(function*() {
    const instance = yield* Simulator.makeInstance()
    const port = yield* Effect.orDie(LocalPostgres.freePort)
    yield* Layer.build(Runner.layer({
      database: { url },
      address: Option.getOrThrow(Cluster.parseAddress(`127.0.0.1:${port}`)),
      program,
      module,
      modelId: "simulator/sim-1",
      model: () => Layer.succeed(LanguageModel.LanguageModel, instance.languageModel),
      concurrency: 4,
      statsInterval: "1 hour"
    })).pipe(Effect.orDie)
    return { counters: instance.counters }
  })

const runBatch = (url: string, options: Omit<DistributedBatch.Options, "program"> & { readonly program?: string }) =>
  DistributedBatch.run({ program: "qa", ...options }).pipe(
    Effect.provide(DistributedBatch.layer({ database: { url } })),
    Effect.provide(NodeContext.layer)
  )

/** A program that takes `millis` per item. */
const slow = (millis: number) =>
  Module.make({ name: "Slow", submodules: {} }, (_, input: { readonly question: string }) =>
    Effect.as(Effect.sleep(millis), { answer: `ok ${input.question}` })) as unknown as Programs.Runnable

describe.skipIf(!Pg.available)("DistributedBatch", () => {
  layer(Pg.layer, { timeout: 60_000 })((it) => {
    it.scoped("resumes by batch id: results stored meanwhile are written first, nothing is called twice", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        const runner = yield* startRunner(url, "qa", Programs.builtIns["qa"]!.module)
        const dir = yield* P.tempDir
        const input = path.join(dir, "items.jsonl")
        const output = path.join(dir, "results.jsonl")
        P.writeItems(input, 20)
        const first = yield* runBatch(url, { batchId: "b1", input, output })
        assert.strictEqual(first.succeeded, 20)
        assert.isTrue(first.complete)
        const calls = (yield* runner.counters).requests
        assert.strictEqual(calls, 20)
        // the output is lost: the same batch id writes it again from the results table
        fs.rmSync(output)
        const second = yield* runBatch(url, { batchId: "b1", input, output })
        assert.strictEqual(second.exported, 20)
        assert.strictEqual(second.resumed, 20)
        assert.strictEqual(second.finished, 0)
        assert.strictEqual(P.readOutput(output).records.length, 20)
        assert.strictEqual((yield* runner.counters).requests, calls)
      }).pipe(live))

    it.scoped("an unreadable input line is a failure stored by the coordinator; the others run", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        yield* startRunner(url, "qa", Programs.builtIns["qa"]!.module)
        const dir = yield* P.tempDir
        const input = path.join(dir, "items.jsonl")
        const output = path.join(dir, "results.jsonl")
        fs.writeFileSync(input, `{"id":"a","question":"1?"}\n{not json\n{"id":"c","question":3}\n`)
        const summary = yield* runBatch(url, { batchId: "bad-lines", input, output, module: Programs.builtIns["qa"]!.module })
        assert.strictEqual(summary.succeeded, 1)
        assert.deepStrictEqual(summary.failedByKind, { MalformedLine: 1, InvalidInput: 1 })
        const sql = yield* P.sqlOn(url)
        assert.deepStrictEqual(yield* P.resultCount(sql, "bad-lines"), { rows: 3, distinct: 3 })
      }).pipe(live))

    it.scoped("runners serving another program: the run stops before sending anything", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        yield* startRunner(url, "sentiment", Programs.builtIns["sentiment"]!.module)
        const dir = yield* P.tempDir
        const input = path.join(dir, "items.jsonl")
        P.writeItems(input, 3)
        const result = yield* Effect.either(runBatch(url, { batchId: "wrong", input, output: path.join(dir, "out.jsonl") }))
        assert.isTrue(Either.isLeft(result))
        if (Either.isLeft(result)) {
          assert.strictEqual(result.left._tag, "DistributedBatchError")
          assert.match(result.left.message, /serve another program than qa/)
        }
      }).pipe(live))

    it.scoped("retryFailed: failed items are sent again as new messages and succeed", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        let failing = true
        const flaky = Module.make({ name: "Flaky", submodules: {} }, (_, input: { readonly question: string }) =>
          failing && input.question.endsWith("3")
            ? Effect.fail(new Error("not today"))
            : Effect.succeed({ answer: `ok ${input.question}` })) as unknown as Programs.Runnable
        yield* startRunner(url, "flaky", flaky)
        const dir = yield* P.tempDir
        const input = path.join(dir, "items.jsonl")
        const output = path.join(dir, "results.jsonl")
        P.writeItems(input, 13)
        const first = yield* runBatch(url, { batchId: "retry", input, output, program: "flaky" })
        assert.strictEqual(first.failed, 2)
        failing = false
        const second = yield* runBatch(url, { batchId: "retry", input, output, program: "flaky", retryFailed: true })
        assert.strictEqual(second.succeeded, 2)
        const { records } = P.readOutput(output)
        assert.strictEqual(records.length, 13)
        assert.isTrue(records.every((r) => r.status === "success"))
      }).pipe(live))

    it.scoped("a runner answering with an interruption: the item is a stored failure, the run completes", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        const port = yield* Effect.orDie(LocalPostgres.freePort)
        // a runner of our own whose handler answers q1 with an interruption and the others with a success
        const success = (id: string) =>
          JSON.stringify({ id, index: 0, status: "success", input: {}, output: {}, usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0, lmCalls: 1 }, latencyMs: 1 })
        yield* Layer.build(
          ItemEntity.ItemEntity.toLayer(
            Effect.succeed(ItemEntity.ItemEntity.of({
              Process: (request) => request.payload.itemId === "q1" ? Effect.interrupt : Effect.succeed(success(request.payload.itemId))
            })),
            { concurrency: "unbounded" }
          ).pipe(
            Layer.provide(Cluster.runnerLayer({ address: Option.getOrThrow(Cluster.parseAddress(`127.0.0.1:${port}`)) })),
            Layer.provide(Layer.effectDiscard(Tables.ensure())),
            Layer.provide(Cluster.databaseLayer({ url }))
          )
        ).pipe(Effect.orDie)
        const dir = yield* P.tempDir
        const input = path.join(dir, "items.jsonl")
        const output = path.join(dir, "results.jsonl")
        P.writeItems(input, 3)
        const summary = yield* runBatch(url, { batchId: "interrupted", input, output })
        assert.strictEqual(summary.succeeded, 2)
        assert.deepStrictEqual(summary.failedByKind, { ClusterInterrupted: 1 })
        // (this runner stores nothing itself: the one row is the failure the coordinator stored)
        const sql = yield* P.sqlOn(url)
        assert.deepStrictEqual(yield* P.resultCount(sql, "interrupted"), { rows: 1, distinct: 1 })
      }).pipe(live))

    it.scoped("a second coordinator of a running batch is refused; the first completes", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        // each item takes a second: the first coordinator is still running when the second comes, even on a loaded machine
        yield* startRunner(url, "slow", slow(1000))
        const dir = yield* P.tempDir
        const input = path.join(dir, "items.jsonl")
        P.writeItems(input, 12)
        const first = yield* Effect.fork(runBatch(url, { batchId: "twice", input, output: path.join(dir, "a.jsonl"), program: "slow" }))
        const sql = yield* P.sqlOn(url)
        yield* P.waitFor(
          "the first coordinator's lease",
          Effect.map(sql<{ n: string }>`SELECT count(*) AS n FROM effect_dspy_batches WHERE coordinator IS NOT NULL`, (rows) => Number(rows[0]!.n) > 0)
        )
        const second = yield* Effect.either(runBatch(url, { batchId: "twice", input, output: path.join(dir, "b.jsonl"), program: "slow" }))
        assert.isTrue(Either.isLeft(second) && second.left._tag === "BatchBusy", String(second))
        // nor does cleanup touch it, even forced
        const ops = BatchStore.layer().pipe(Layer.provideMerge(Pg.client(url)))
        const cleaned = yield* Operations.cleanup({ batchIds: ["twice"], force: true }).pipe(Effect.provide(ops))
        assert.match(cleaned[0]!.skipped ?? "", /a coordinator is running it/)
        assert.strictEqual((yield* Fiber.join(first)).succeeded, 12)
        assert.isFalse(fs.existsSync(path.join(dir, "b.jsonl")), "the refused coordinator wrote nothing")
      }).pipe(live))

    it.scoped("the window bounds the unprocessed messages in the cluster's tables", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        yield* startRunner(url, "slow", slow(50))
        const dir = yield* P.tempDir
        const input = path.join(dir, "items.jsonl")
        P.writeItems(input, 30)
        const sql = yield* P.sqlOn(url)
        const unprocessed = Effect.map(
          sql<{ n: string }>`SELECT count(*) AS n FROM cluster_messages WHERE processed = false`,
          (rows) => Number(rows[0]!.n)
        ).pipe(Effect.orElseSucceed(() => 0))
        let most = 0
        const sampler = yield* Effect.fork(
          Effect.flatMap(unprocessed, (n) => Effect.sync(() => void (most = Math.max(most, n)))).pipe(
            Effect.zipRight(Effect.sleep("10 millis")),
            Effect.forever
          )
        )
        const summary = yield* runBatch(url, { batchId: "windowed", input, output: path.join(dir, "out.jsonl"), program: "slow", window: 3 })
        yield* Fiber.interrupt(sampler)
        assert.strictEqual(summary.succeeded, 30)
        assert.isAtLeast(most, 1, "the sampler saw messages in flight")
        assert.isAtMost(most, 3)
      }).pipe(live))

    it.scoped("a bad batch id is refused before anything runs", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        const dir = yield* P.tempDir
        const input = path.join(dir, "items.jsonl")
        P.writeItems(input, 1)
        const result = yield* Effect.either(runBatch(url, { batchId: "no/slashes", input, output: path.join(dir, "o.jsonl") }))
        assert.isTrue(Either.isLeft(result) && result.left._tag === "DistributedBatchError")
      }).pipe(live))

    it.scoped("export writes the stored results; cleanup deletes a finished batch's results and messages, not an unfinished one", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        yield* startRunner(url, "qa", Programs.builtIns["qa"]!.module)
        const dir = yield* P.tempDir
        const input = path.join(dir, "items.jsonl")
        P.writeItems(input, 5)
        yield* runBatch(url, { batchId: "done", input, output: path.join(dir, "out.jsonl") })
        const sql = yield* P.sqlOn(url)
        // a batch that never finished (opened, one result)
        const ops = BatchStore.layer().pipe(Layer.provideMerge(Pg.client(url)))
        yield* Effect.flatMap(BatchStore.BatchStore, (store) => store.open("open", { program: "qa", lanes: 4 })).pipe(Effect.provide(ops))
        const exported = path.join(dir, "export.jsonl")
        const written = yield* Operations.exportResults("done", exported).pipe(Effect.provide(ops), Effect.provide(NodeContext.layer))
        assert.strictEqual(written, 5)
        assert.strictEqual(P.readOutput(exported).records.length, 5)
        const messagesOf = (batchId: string) =>
          Effect.map(
            sql<{ n: string }>`SELECT count(*) AS n FROM cluster_messages WHERE starts_with(entity_id, ${batchId + "/"})`,
            (rows) => Number(rows[0]!.n)
          )
        assert.isAbove(yield* messagesOf("done"), 0)
        const cleaned = yield* Operations.cleanup({ batchIds: ["done", "open"] }).pipe(Effect.provide(ops))
        assert.deepStrictEqual(cleaned.map((c) => [c.batchId, c.skipped === undefined]), [["done", true], ["open", false]])
        assert.strictEqual(cleaned[0]!.results, 5)
        assert.strictEqual(yield* messagesOf("done"), 0)
        assert.deepStrictEqual(yield* P.resultCount(sql, "done"), { rows: 0, distinct: 0 })
        const status = yield* Operations.status.pipe(Effect.provide(ops))
        assert.deepStrictEqual(status.batches.map((b) => b.batchId), ["open"])
      }).pipe(live))

    it.scoped("the runner registry lists runners while they live", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        yield* startRunner(url, "qa", Programs.builtIns["qa"]!.module)
        const runners = yield* RunnerRegistry.live().pipe(Effect.provide(Pg.client(url)))
        assert.strictEqual(runners.length, 1)
        assert.strictEqual(runners[0]!.program, "qa")
      }).pipe(live))
  })
})
