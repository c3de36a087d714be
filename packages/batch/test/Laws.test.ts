import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { Input } from "../src/index"
import { DoneSet } from "../src/internal/doneSet"
import { canonicalJson } from "../src/internal/hash"

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

  it.prop("cache keys ignore the order of object keys", [fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue())], ([record]) => {
    const reversed = Object.fromEntries(Object.entries(record).reverse())
    assert.strictEqual(canonicalJson(record), canonicalJson(reversed))
    assert.deepStrictEqual(JSON.parse(canonicalJson(record)), JSON.parse(JSON.stringify(record)))
  })
})
