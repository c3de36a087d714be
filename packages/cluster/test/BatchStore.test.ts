/**
 * The tables and the batch store against a real database: processes starting together on an
 * empty database all create the tables without a race, a result is stored once whoever writes
 * it, a batch id keeps its program, and `retryFailed` clears failures and bumps the generation.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Chunk, Context, Effect, Either, Layer, Stream } from "effect"
import * as BatchStore from "../src/BatchStore.js"
import * as Tables from "../src/Tables.js"
import * as Pg from "./utils/postgres.js"
import * as P from "./utils/processes.js"

/** A store on its own pool (as a process of its own), the tables ensured first. */
const storeOn = (url: string) =>
  Effect.map(
    Layer.build(BatchStore.layer().pipe(Layer.provide(Layer.effectDiscard(Tables.ensure())), Layer.provide(Pg.client(url)))),
    Context.get(BatchStore.BatchStore)
  )

const result = (itemId: string, record: string, status: "success" | "failure" = "success"): BatchStore.Result => ({
  batchId: "b",
  itemId,
  index: 0,
  status,
  record,
  writtenBy: "test"
})

describe.skipIf(!Pg.available)("BatchStore", () => {
  layer(Pg.layer, { timeout: 60_000 })((it) => {
    it.scoped("three processes creating the tables at once on an empty database all succeed", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        const stores = yield* Effect.all([storeOn(url), storeOn(url), storeOn(url)], { concurrency: 3 })
        assert.strictEqual(stores.length, 3)
      }))

    it.scoped("a result is stored once: every writer gets the first record back", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        const stores = yield* Effect.all([storeOn(url), storeOn(url), storeOn(url)])
        yield* stores[0]!.open("b", { program: "qa", lanes: 8 })
        const stored = yield* Effect.forEach(
          Array.from({ length: 12 }, (_, i) => i),
          (i) => stores[i % 3]!.insertResult(result("item", `{"writer":${i}}`)),
          { concurrency: 12 }
        )
        assert.strictEqual(new Set(stored).size, 1)
        assert.deepStrictEqual(yield* stores[1]!.counts("b"), { succeeded: 1, failed: 0 })
      }))

    it.scoped("a result of a batch that is gone (cleaned up while the item was in flight) is not stored", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        const store = yield* storeOn(url)
        yield* store.open("b", { program: "qa", lanes: 8 })
        yield* store.insertResult(result("1", "{}"))
        const sql = yield* P.sqlOn(url)
        yield* sql`DELETE FROM effect_dspy_batches WHERE batch_id = 'b'`
        // its results went with it
        assert.deepStrictEqual(yield* store.counts("b"), { succeeded: 0, failed: 0 })
        // a late result is answered, not stored: a new batch b starts with no results
        assert.strictEqual(yield* store.insertResult(result("2", `{"late":true}`)), `{"late":true}`)
        yield* store.open("b", { program: "qa", lanes: 8 })
        assert.deepStrictEqual(yield* store.counts("b"), { succeeded: 0, failed: 0 })
      }))

    it.scoped("a batch id keeps its program", () =>
      Effect.gen(function*() {
        const store = yield* storeOn(yield* Pg.freshDatabase)
        const batch = yield* store.open("b", { program: "qa", lanes: 8 })
        assert.strictEqual(batch.lanes, 8)
        // a resumed batch keeps its lanes
        assert.strictEqual((yield* store.open("b", { program: "qa", lanes: 99 })).lanes, 8)
        const other = yield* Effect.either(store.open("b", { program: "sentiment", lanes: 8 }))
        assert.isTrue(Either.isLeft(other) && other.left._tag === "BatchMismatch")
      }))

    it.scoped("retryFailed deletes the failures, bumps the generation, reopens the batch; finish marks it done", () =>
      Effect.gen(function*() {
        const store = yield* storeOn(yield* Pg.freshDatabase)
        yield* store.open("b", { program: "qa", lanes: 8 })
        yield* store.insertResult(result("1", "{}"))
        yield* store.insertResult(result("2", "{}", "failure"))
        yield* store.finish("b", 2)
        const finished = yield* store.get("b")
        assert.isTrue(finished._tag === "Some" && finished.value.finishedAt !== undefined)
        assert.strictEqual(yield* store.retryFailed("b"), 1)
        const reopened = yield* store.get("b")
        assert.isTrue(reopened._tag === "Some" && reopened.value.finishedAt === undefined && reopened.value.generation === 1)
        const left = yield* Stream.runCollect(store.results("b"))
        assert.deepStrictEqual(Chunk.toReadonlyArray(left).map((r) => r.itemId), ["1"])
      }))
  })
})
