/**
 * The runner's item executor against a real database: it never dies (a module that dies, a
 * bad input, a runner of another program are failure outcomes, stored), an item delivered
 * again is answered from its stored result without a model call, interruption passes through
 * without storing anything, and the process-wide concurrency bounds the items at once.
 */
import * as Programs from "@effect-dspy/batch/Programs"
import { Module } from "@effect-dspy/core"
import { Simulator } from "@effect-dspy/simulator"
import { assert, describe, layer } from "@effect/vitest"
import { Clock, Context, Deferred, Effect, Exit, Fiber, Layer, Option } from "effect"
import * as BatchStore from "../src/BatchStore.js"
import * as ItemExecutor from "../src/ItemExecutor.js"
import type * as ItemEntity from "../src/ItemEntity.js"
import * as Tables from "../src/Tables.js"
import * as Pg from "./utils/postgres.js"

type Runnable = Programs.Runnable

/** A module whose behaviour a test scripts; it counts its calls. */
const scripted = (behaviour: (input: unknown) => Effect.Effect<unknown, unknown>) => {
  const calls = { count: 0, inFlight: 0, maxInFlight: 0 }
  const module = Module.make({ name: "Scripted", submodules: {} }, (_, input: unknown) =>
    Effect.suspend(() => {
      calls.count++
      calls.inFlight++
      calls.maxInFlight = Math.max(calls.maxInFlight, calls.inFlight)
      return behaviour(input)
    }).pipe(Effect.ensuring(Effect.sync(() => void calls.inFlight--)))) as unknown as Runnable
  return { module, calls }
}

const payload = (itemId: string, input: unknown, program = "scripted"): ItemEntity.Payload =>
  ({ batchId: "b1", generation: 0, itemId, index: 0, line: null, program, input }) as ItemEntity.Payload

/** An executor on a fresh database, with its store. */
const executorOn = (module: Runnable, options: { readonly concurrency?: number; readonly program?: string } = {}) =>
  Effect.gen(function*() {
    const url = yield* Pg.freshDatabase
    const context = yield* Layer.build(
      ItemExecutor.layer({
        program: options.program ?? "scripted",
        module,
        concurrency: options.concurrency ?? 4,
        writtenBy: "test"
      }).pipe(
        Layer.provideMerge(BatchStore.layer()),
        Layer.provide(Simulator.layer()),
        Layer.provide(Layer.effectDiscard(Tables.ensure())),
        Layer.provide(Pg.client(url))
      )
    )
    const store = Context.get(context, BatchStore.BatchStore)
    // a result belongs to its batch: the coordinator opens it before any item is sent
    yield* store.open("b1", { program: options.program ?? "scripted", lanes: 4 })
    return { executor: Context.get(context, ItemExecutor.ItemExecutor), store }
  })

const parse = (line: string) => JSON.parse(line) as { id: string; status: string; error?: { kind: string }; output?: unknown }

describe.skipIf(!Pg.available)("ItemExecutor", () => {
  layer(Pg.layer, { timeout: 60_000 })((it) => {
    it.scoped("a module that dies is a stored failure; delivered again, the item is answered from the store", () =>
      Effect.gen(function*() {
        const { calls, module } = scripted(() => Effect.die(new Error("boom")))
        const { executor, store } = yield* executorOn(module)
        const first = parse(yield* executor.process(payload("i1", { x: 1 })))
        assert.strictEqual(first.status, "failure")
        assert.strictEqual(first.error?.kind, "Defect")
        const stored = yield* store.findResult("b1", "i1")
        assert.isTrue(Option.isSome(stored))
        const again = yield* executor.process(payload("i1", { x: 1 }))
        assert.deepStrictEqual(parse(again), first)
        assert.strictEqual(calls.count, 1)
        assert.strictEqual((yield* executor.stats).redelivered, 1)
      }))

    it.scoped("a failing module and a bad input are failure outcomes, stored once", () =>
      Effect.gen(function*() {
        const qa = Programs.builtIns["qa"]!.module
        const { executor, store } = yield* executorOn(qa, { program: "qa" })
        const bad = parse(yield* executor.process(payload("bad", { question: 42 }, "qa")))
        assert.strictEqual(bad.error?.kind, "InvalidInput")
        const good = parse(yield* executor.process(payload("good", { question: "2 + 2?" }, "qa")))
        assert.strictEqual(good.status, "success")
        assert.deepStrictEqual(yield* store.counts("b1"), { succeeded: 1, failed: 1 })
      }))

    it.scoped("an interruption from inside the module (a fiber it joined was interrupted) is a stored failure, not the item's interruption", () =>
      Effect.gen(function*() {
        const { calls, module } = scripted(() => Effect.flatMap(Effect.fork(Effect.never), (fiber) => Effect.zipRight(Fiber.interrupt(fiber), Fiber.join(fiber))))
        const { executor, store } = yield* executorOn(module)
        const exit = yield* Effect.exit(executor.process(payload("i1", {})))
        assert.isTrue(Exit.isSuccess(exit), String(exit))
        if (Exit.isSuccess(exit)) {
          const record = parse(exit.value)
          assert.strictEqual(record.status, "failure")
          assert.strictEqual(record.error?.kind, "Interrupted")
        }
        assert.isTrue(Option.isSome(yield* store.findResult("b1", "i1")))
        assert.strictEqual(calls.count, 1)
      }))

    it.scoped("an item for another program is refused without calling the module", () =>
      Effect.gen(function*() {
        const { calls, module } = scripted(() => Effect.succeed({ ok: true }))
        const { executor } = yield* executorOn(module)
        const refused = parse(yield* executor.process(payload("i1", {}, "other")))
        assert.strictEqual(refused.error?.kind, "ProgramMismatch")
        assert.strictEqual(calls.count, 0)
      }))

    it.scoped("interrupted (the runner stopping): nothing is stored, the item stays to run elsewhere", () =>
      Effect.gen(function*() {
        const started = yield* Deferred.make<void>()
        const { module } = scripted(() => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never))
        const { executor, store } = yield* executorOn(module)
        const fiber = yield* Effect.fork(executor.process(payload("i1", {})))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        assert.isTrue(Option.isNone(yield* store.findResult("b1", "i1")))
        assert.strictEqual((yield* executor.stats).inProgress, 0)
      }))

    it.scoped("at most `concurrency` items run at once in the process", () =>
      Effect.gen(function*() {
        const { calls, module } = scripted(() => Effect.as(Effect.sleep("10 millis"), { ok: true }))
        const { executor, store } = yield* executorOn(module, { concurrency: 3 })
        yield* Effect.forEach(Array.from({ length: 12 }, (_, i) => `i${i}`), (id) => executor.process(payload(id, {})), {
          concurrency: "unbounded"
        })
        assert.strictEqual(calls.maxInFlight, 3)
        assert.deepStrictEqual(yield* store.counts("b1"), { succeeded: 12, failed: 0 })
      }).pipe(Effect.withClock(Clock.make())))
  })
})
