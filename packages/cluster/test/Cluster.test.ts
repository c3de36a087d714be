/**
 * Distributed batches as real processes on loopback: runners and coordinators are the
 * `effect-dspy` command (the cli package's `bin.ts`) under tsx, PostgreSQL is a throwaway server, the model is the
 * simulator's server in this process, which counts every model call.
 *
 * The faults are the point, so they are real: SIGKILL, SIGTERM, a database stopped for 10 s.
 * Assertions are about results (rows, lines, counts at the simulator); waits poll for a
 * condition. The only measured time is the global rate (the property under test) and a
 * runner's stop against its own deadline.
 */
import { SimulatorServer } from "@effect-dspy/simulator"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it as base, layer } from "@effect/vitest"
import { Clock, Effect } from "effect"
import * as path from "node:path"
import * as LocalPostgres from "../src/LocalPostgres.js"
import * as Pg from "./utils/postgres.js"
import * as P from "./utils/processes.js"

const latency = (millis: number) => ({ _tag: "Fixed", millis }) as const

/** The test on the live clock: the simulator's latency is real time here (processes wait on it). */
const live = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.withClock(self, Clock.make())

/** Starts `n` runners on fresh ports and waits until each serves. */
const startRunners = (
  url: string,
  server: SimulatorServer.Service,
  n: number,
  extra: ReadonlyArray<string> = []
) =>
  Effect.gen(function*() {
    const sql = yield* P.sqlOn(url)
    const runners: Array<P.Child> = []
    for (let i = 0; i < n; i++) {
      const port = yield* Effect.orDie(LocalPostgres.freePort)
      runners.push(yield* P.start(`runner ${i + 1} (:${port})`, P.runnerArgs(url, port, extra), P.simulatorEnv(server)))
    }
    yield* P.waitFor(`${n} runners serving`, Effect.map(P.servingRunners(sql), (k) => k >= n), { watch: runners })
    // let the shard assignment settle before items flow
    yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 1500)))
    return { runners, sql }
  })

const batchArgs = (url: string, batchId: string, input: string, output: string, extra: ReadonlyArray<string> = []) => [
  "batch",
  "--cluster",
  url,
  "--batch-id",
  batchId,
  "-i",
  input,
  "-o",
  output,
  ...extra
]

/** Every input id exactly once in the output and in the results table. */
const assertExactlyOnce = (
  sql: Effect.Effect.Success<ReturnType<typeof P.sqlOn>>,
  batchId: string,
  output: string,
  n: number
) =>
  Effect.gen(function*() {
    const { records, torn } = P.readOutput(output)
    assert.isFalse(torn)
    assert.strictEqual(records.length, n, "one output line per item")
    assert.strictEqual(new Set(records.map((r) => r.id)).size, n, "no item twice in the output")
    assert.isTrue(records.every((r) => r.status === "success"), JSON.stringify(records.find((r) => r.status !== "success")))
    const rows = yield* P.resultCount(sql, batchId)
    assert.deepStrictEqual(rows, { rows: n, distinct: n }, "one result row per item")
  })

describe.skipIf(!Pg.available)("distributed batches (processes)", () => {
  layer(Pg.layer, { timeout: 60_000 })((it) => {
    it.scoped("3 runners, one killed with SIGKILL mid-run: every item exactly once, model calls within 2% of the items", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        const server = yield* SimulatorServer.make({ port: 0, latency: latency(100) })
        const dir = yield* P.tempDir
        const input = path.join(dir, "items.jsonl")
        const output = path.join(dir, "results.jsonl")
        // at most 2 items in flight on the killed runner: within 2% of 200
        const N = 200
        P.writeItems(input, N)
        const { runners, sql } = yield* startRunners(url, server, 3, ["--concurrency", "2"])
        const coordinator = yield* P.start("coordinator", batchArgs(url, "kill9", input, output), { EFFECT_DSPY_LOG_LEVEL: "info" })
        yield* P.waitFor("a quarter of the results", Effect.map(P.resultCount(sql, "kill9"), (c) => c.rows >= N / 4), {
          watch: [coordinator, ...runners]
        })
        runners[0]!.process.kill("SIGKILL")
        // mid-run: items were left
        assert.isBelow((yield* P.resultCount(sql, "kill9")).rows, N)
        const done = yield* P.exit(coordinator, { watch: runners })
        assert.strictEqual(done.code, 0, coordinator.output())
        yield* assertExactlyOnce(sql, "kill9", output, N)
        const counters = yield* server.counters
        assert.isAtLeast(counters.requests, N)
        assert.isAtMost(counters.requests, Math.floor(N * 1.02), `model calls ${counters.requests} for ${N} items`)
      }).pipe(live), { timeout: 240_000 })

    it.scoped("the coordinator killed with SIGKILL and run again: no item is called twice", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        const server = yield* SimulatorServer.make({ port: 0, latency: latency(100) })
        const dir = yield* P.tempDir
        const input = path.join(dir, "items.jsonl")
        const output = path.join(dir, "results.jsonl")
        const N = 120
        P.writeItems(input, N)
        const { runners, sql } = yield* startRunners(url, server, 2, ["--concurrency", "4"])
        const first = yield* P.start("coordinator 1", batchArgs(url, "rerun", input, output), {})
        yield* P.waitFor("a quarter of the results", Effect.map(P.resultCount(sql, "rerun"), (c) => c.rows >= N / 4), {
          watch: [first, ...runners]
        })
        first.process.kill("SIGKILL")
        yield* P.exit(first)
        const before = P.readOutput(output).records.length
        assert.isBelow(before, N)
        const second = yield* P.start("coordinator 2", batchArgs(url, "rerun", input, output), {})
        const done = yield* P.exit(second, { watch: runners })
        assert.strictEqual(done.code, 0, second.output())
        yield* assertExactlyOnce(sql, "rerun", output, N)
        // every item reached the model exactly once over both runs
        assert.strictEqual((yield* server.counters).requests, N)
      }).pipe(live), { timeout: 240_000 })

    it.scoped("a global limit of 10 requests/s holds across 3 runners (within 10%)", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        const server = yield* SimulatorServer.make({ port: 0, latency: latency(50) })
        const dir = yield* P.tempDir
        const input = path.join(dir, "items.jsonl")
        const output = path.join(dir, "results.jsonl")
        const N = 130
        const perSecond = 10
        P.writeItems(input, N)
        const { runners, sql } = yield* startRunners(url, server, 3, ["--concurrency", "4", "--global-rpm", String(perSecond * 60)])
        const coordinator = yield* P.start("coordinator", batchArgs(url, "limited", input, output), {})
        // the rate after the first second's burst: from the 20th request to the last
        const samples: Array<{ readonly at: number; readonly requests: number }> = []
        yield* P.waitFor(
          "every request",
          Effect.map(server.counters, (c) => {
            samples.push({ at: performance.now(), requests: c.requests })
            return c.requests >= N
          }),
          { watch: [coordinator, ...runners] }
        )
        const from = samples.find((s) => s.requests >= 20)!
        const to = samples[samples.length - 1]!
        const rate = ((to.requests - from.requests) * 1000) / (to.at - from.at)
        assert.isAtLeast(rate, perSecond * 0.9, `${rate.toFixed(2)} requests/s`)
        assert.isAtMost(rate, perSecond * 1.1, `${rate.toFixed(2)} requests/s`)
        const done = yield* P.exit(coordinator, { watch: runners })
        assert.strictEqual(done.code, 0, coordinator.output())
        yield* assertExactlyOnce(sql, "limited", output, N)
      }).pipe(live), { timeout: 240_000 })

    it.scoped("SIGTERM stops a runner within its deadline; its unfinished items run on the other runner", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        // items longer than the drain (half the deadline): some are cut short and run elsewhere
        const server = yield* SimulatorServer.make({ port: 0, latency: latency(5000) })
        const dir = yield* P.tempDir
        const input = path.join(dir, "items.jsonl")
        const output = path.join(dir, "results.jsonl")
        const N = 18
        const deadline = 8
        P.writeItems(input, N)
        const { runners, sql } = yield* startRunners(url, server, 2, ["--concurrency", "3", "--shutdown-timeout", String(deadline)])
        const coordinator = yield* P.start("coordinator", batchArgs(url, "sigterm", input, output), {})
        // both runners busy
        yield* P.waitFor("both runners busy", Effect.map(server.counters, (c) => c.inFlight >= 6), { watch: [coordinator, ...runners] })
        const stopping = runners[0]!
        const sent = performance.now()
        stopping.process.kill("SIGTERM")
        const stopped = yield* P.exit(stopping)
        const tookMillis = performance.now() - sent
        assert.isFalse(/not stopped within/.test(stopping.output()), stopping.output())
        assert.strictEqual(stopped.code, 143, stopping.output())
        // its own deadline (the process's exit adds little; generous for a loaded machine)
        assert.isAtMost(tookMillis, deadline * 1000 + 1500, `stopped after ${Math.round(tookMillis)} ms`)
        const done = yield* P.exit(coordinator, { watch: runners })
        assert.strictEqual(done.code, 0, coordinator.output())
        yield* assertExactlyOnce(sql, "sigterm", output, N)
      }).pipe(live), { timeout: 240_000 })
  })

  // its own server: this test stops it
  base.scoped("the database stopped for 10 s mid-run: the batch still completes, exactly once", () =>
    Effect.gen(function*() {
      const db = yield* LocalPostgres.make().pipe(Effect.orDie)
      const url = yield* Effect.orDie(db.createDatabase("outage"))
      const server = yield* SimulatorServer.make({ port: 0, latency: latency(100) })
      const dir = yield* P.tempDir
      const input = path.join(dir, "items.jsonl")
      const output = path.join(dir, "results.jsonl")
      const N = 160
      P.writeItems(input, N)
      const { runners, sql } = yield* startRunners(url, server, 2, ["--concurrency", "4"])
      const coordinator = yield* P.start("coordinator", batchArgs(url, "outage", input, output), {})
      yield* P.waitFor("a quarter of the results", Effect.map(P.resultCount(sql, "outage"), (c) => c.rows >= N / 4), {
        watch: [coordinator, ...runners]
      })
      yield* Effect.orDie(db.stop)
      assert.isFalse(coordinator.hasExited(), "the batch was not over when the database stopped")
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10_000)))
      yield* Effect.orDie(db.start)
      const done = yield* P.exit(coordinator, { watch: runners })
      assert.strictEqual(done.code, 0, coordinator.output())
      for (const runner of runners) assert.isFalse(runner.hasExited(), `${runner.name} died:\n${runner.output()}`)
      yield* assertExactlyOnce(sql, "outage", output, N)
    }).pipe(live, Effect.provide(NodeContext.layer)), { timeout: 240_000 })
})
