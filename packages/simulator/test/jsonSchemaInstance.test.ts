import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc, JSONSchema, Schema } from "effect"
import type { JsonSchema } from "../src/Script.js"
import { generate, makeCaches } from "../src/internal/answer/jsonSchemaInstance.js"
import { makeRng } from "../src/internal/rng.js"

interface Category {
  readonly name: string
  readonly subcategories: ReadonlyArray<Category>
}
const Category = Schema.Struct({
  name: Schema.String,
  subcategories: Schema.Array(Schema.suspend((): Schema.Schema<Category> => Category))
}).annotations({ identifier: "Category" })

const Action = Schema.Union(
  Schema.TaggedStruct("Joke", { text: Schema.NonEmptyString }),
  Schema.TaggedStruct("Refund", { amount: Schema.Number.pipe(Schema.between(0, 100)) }),
  Schema.TaggedStruct("Escalate", {})
)

const shapes: Record<string, Schema.Schema.AnyNoContext> = {
  primitives: Schema.Struct({
    s: Schema.String,
    n: Schema.Number,
    i: Schema.Int,
    b: Schema.Boolean,
    opt: Schema.optional(Schema.String),
    nullable: Schema.NullOr(Schema.Int)
  }),
  literals: Schema.Struct({ mood: Schema.Literal("happy", "neutral", "upset"), mixed: Schema.Literal(1, "two", true) }),
  taggedUnion: Schema.Struct({ action: Action, reply: Schema.String }),
  arrays: Schema.Struct({
    tags: Schema.Array(Schema.String).pipe(Schema.minItems(1), Schema.maxItems(3)),
    nonEmpty: Schema.NonEmptyArray(Schema.Int),
    tuple: Schema.Tuple(Schema.String, Schema.Number),
    rest: Schema.Tuple([Schema.String], Schema.Boolean)
  }),
  records: Schema.Struct({ scores: Schema.Record({ key: Schema.String, value: Schema.Number }) }),
  refinements: Schema.Struct({
    id: Schema.UUID,
    when: Schema.Date,
    count: Schema.NumberFromString,
    code: Schema.String.pipe(Schema.pattern(/^[a-z]{3}-\d{2}$/)),
    name: Schema.NonEmptyTrimmedString,
    short: Schema.String.pipe(Schema.maxLength(5)),
    step: Schema.Int.pipe(Schema.multipleOf(5), Schema.between(10, 50)),
    positive: Schema.Positive,
    ratio: Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1)),
    letter: Schema.Char
  }),
  nested: Schema.Struct({
    customer: Schema.Struct({ name: Schema.String, email: Schema.String, age: Schema.optional(Schema.Int) }),
    items: Schema.Array(Schema.Struct({ sku: Schema.String, qty: Schema.Int.pipe(Schema.positive()) }))
  }),
  option: Schema.Struct({ maybe: Schema.Option(Schema.String) }),
  recursive: Category,
  topLevelArray: Schema.Array(Action)
}

describe("jsonSchemaInstance", () => {
  for (const [name, schema] of Object.entries(shapes)) {
    const json = JSONSchema.make(schema) as unknown as JsonSchema
    const decode = Schema.decodeUnknownEither(schema)
    it.prop(`generates valid instances: ${name}`, [fc.integer()], ([seed]) => {
      const value = generate(json, makeRng(seed), { keywords: ["coffee", "latte"] }, makeCaches())
      const result = decode(JSON.parse(JSON.stringify(value)))
      if (Either.isLeft(result)) assert.fail(`${JSON.stringify(value)}\n${result.left.message}`)
    }, { fastCheck: { numRuns: 60 } })
  }

  it("is deterministic for a seed", () => {
    const json = JSONSchema.make(shapes["nested"]!) as unknown as JsonSchema
    const a = generate(json, makeRng(7), { keywords: [] }, makeCaches())
    const b = generate(json, makeRng(7), { keywords: [] }, makeCaches())
    assert.deepStrictEqual(a, b)
  })

  it("shapes strings by property name", () => {
    const value = generate(
      { type: "object", properties: { reasoning: { type: "string" }, email: { type: "string" } }, required: ["reasoning", "email"] },
      makeRng(1),
      { keywords: ["latte"] },
      makeCaches()
    ) as { reasoning: string; email: string }
    assert.match(value.reasoning, /step by step/)
    assert.match(value.email, /@example\.com$/)
  })
})
