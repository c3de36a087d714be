import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { Input } from "../src/index.js"
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

  it.prop("DoneSet agrees with a Set, for line-number ids and others", [
    fc.array(fc.oneof(fc.nat({ max: 100_000 }).map(String), fc.string({ maxLength: 4 })), { maxLength: 200 })
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
})
