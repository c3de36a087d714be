import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, FastCheck as fc, Stream } from "effect"
import { Checkpoint, Input, type Outcome } from "../src/index.js"
import { DoneSet } from "../src/internal/doneSet.js"
import { canonicalJson } from "../src/internal/hash.js"
import { makeLatencySample } from "../src/internal/latencySample.js"

const quote = (field: string) => (/[",\n]/.test(field) ? `"${field.replace(/"/g, "\"\"")}"` : field)

describe("laws", () => {
  it.prop("CSV: a record written with RFC 4180 quoting reads back as the same fields", [
    fc.array(fc.string({ unit: fc.constantFrom("a", "b", ",", "\"", "\n", " ", "é") }), { minLength: 1, maxLength: 6 })
  ], ([fields]) => {
    assert.deepStrictEqual(Input.parseCsvRecord(fields.map(quote).join(",")), fields)
  })

  it.prop("DoneSet agrees with a Set, for line ids, integer ids and others", [
    fc.array(
      fc.oneof(
        fc.nat({ max: 100_000 }).map(String),
        fc.nat({ max: 100_000 }).map((n) => `line:${n}`),
        fc.constantFrom("line:", "line:01", "07", "0", "line:0", "99999999", "100000000"),
        fc.string({ maxLength: 4 })
      ),
      { maxLength: 200 }
    )
  ], ([ids]) => {
    const done = new DoneSet()
    const reference = new Set<string>()
    for (const id of ids) assert.strictEqual(done.add(id), !reference.has(id) && reference.add(id) !== undefined)
    for (const id of ids) assert.isTrue(done.has(id))
    assert.strictEqual(done.size, reference.size)
    assert.isFalse(done.has("100001"))
  })

  it.prop("latency percentiles: exact nearest-rank while under capacity", [
    fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 })
  ], ([values]) => {
    const sample = makeLatencySample(1000)
    for (const v of values) sample.add(v)
    const sorted = [...values].sort((a, b) => a - b)
    const rank = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]
    assert.deepStrictEqual(sample.quantiles([0, 0.5, 0.95, 0.99, 1]), [0, 0.5, 0.95, 0.99, 1].map(rank))
  })

  it("latency percentiles: past capacity, a bounded sample that stays representative", () => {
    const sample = makeLatencySample(1000)
    // 0..99 999 in a scrambled order
    for (let i = 0; i < 100_000; i++) sample.add((i * 7919) % 100_000)
    const [p50 = 0, p99 = 0] = sample.quantiles([0.5, 0.99])
    assert.isTrue(Math.abs(p50 - 50_000) < 5_000, `p50 ${p50}`)
    assert.isTrue(Math.abs(p99 - 99_000) < 1_500, `p99 ${p99}`)
    assert.deepStrictEqual(makeLatencySample().quantiles([0.5]), [0])
  })

  it.prop("cache keys ignore the order of object keys", [fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue())], ([record]) => {
    const reversed = Object.fromEntries(Object.entries(record).reverse())
    assert.strictEqual(canonicalJson(record), canonicalJson(reversed))
    assert.deepStrictEqual(JSON.parse(canonicalJson(record)), JSON.parse(JSON.stringify(record)))
  })

  it.effect.prop(
    "ids read from a file are distinct and every line that is not blank has one entry, whatever the file holds",
    [fc.array(
      fc.oneof(
        // an item with an id of a small set (so that duplicates happen), with a reserved id, or without
        fc.record({ id: fc.oneof(fc.nat({ max: 6 }), fc.constantFrom("a", "b", "3", "line:1", "line:3", "")), question: fc.string() })
          .map((r) => JSON.stringify(r)),
        fc.record({ question: fc.string() }).map((r) => JSON.stringify(r)),
        // malformed, not an object, blank
        fc.constantFrom("{\"id\": 3, \"question\": ", "[1]", "", "   ", "null")
      ),
      { maxLength: 40 }
    )],
    ([lines]) =>
      Effect.scoped(Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* fs.makeTempDirectoryScoped()
        yield* fs.writeFileString(`${dir}/in.jsonl`, lines.join("\n"))
        const entries = Chunk.toReadonlyArray(yield* Stream.runCollect(Input.readFile(`${dir}/in.jsonl`)))
        const ids = entries.map((e) => e.id)
        assert.strictEqual(new Set(ids).size, ids.length, ids.join(" "))
        assert.strictEqual(entries.length, lines.filter((l) => l.trim() !== "").length)
        // an entry whose id is line:N is on line N
        for (const e of entries) if (e.id.startsWith("line:")) assert.strictEqual(e.id, `line:${e.line}`)
      })).pipe(Effect.provide(NodeContext.layer)),
    { fastCheck: { numRuns: 60 } }
  )

  const record = fc.oneof(
    fc.record({ id: fc.oneof(fc.nat({ max: 30 }).map(String), fc.nat({ max: 30 }).map((n) => `line:${n}`), fc.string({ maxLength: 3 })), ok: fc.boolean(), unreadable: fc.boolean() })
  ).map(({ id, ok, unreadable }): Outcome.Record =>
    ok
      ? { id, index: 0, status: "success", input: { q: id }, output: { a: 1 }, usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2, lmCalls: 1 }, latencyMs: 1 }
      : unreadable
      ? { id, index: 0, status: "failure", raw: "{", error: { kind: "MalformedLine", message: "not JSON" }, latencyMs: 0 }
      : { id, index: 0, status: "failure", input: { q: id }, error: { kind: "Overloaded", message: "503" }, latencyMs: 1 }
  )

  it.effect.prop(
    "Checkpoint: what is appended is what a reopened file counts as done (failures of unreadable lines excepted)",
    [fc.array(record, { maxLength: 40 }), fc.array(record, { maxLength: 10 }), fc.boolean()],
    ([first, second, retryFailed]) =>
      Effect.scoped(Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* fs.makeTempDirectoryScoped()
        const path = `${dir}/out.jsonl`
        const appendAll = (records: ReadonlyArray<Outcome.Record>) =>
          Effect.scoped(Effect.flatMap(Checkpoint.open(path), (c) => Effect.forEach(records, c.append, { discard: true })))
        yield* appendAll(first)
        yield* appendAll(second)
        const all = [...first, ...second]
        const expected = new Set(
          all.filter((r) => !(r.status === "failure" && "raw" in r && r.raw !== undefined) && !(retryFailed && r.status === "failure")).map((r) => r.id)
        )
        const reopened = yield* Effect.scoped(Effect.map(Checkpoint.open(path, { retryFailed }), (c) => ({
          done: [...new Set(all.map((r) => r.id))].filter((id) => c.isDone(id)),
          items: c.resumed.items
        })))
        assert.deepStrictEqual(new Set(reopened.done), expected)
        assert.strictEqual(reopened.items, expected.size)
        // and again: reopening changes nothing more
        const third = yield* Effect.scoped(Effect.map(Checkpoint.open(path, { retryFailed }), (c) => c.resumed.items))
        assert.strictEqual(third, expected.size)
      })).pipe(Effect.provide(NodeContext.layer)),
    { fastCheck: { numRuns: 60 } }
  )
})
