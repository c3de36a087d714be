/**
 * Which schemas take generateObject's synchronous decoding path: plain checks only.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, ParseResult, Schema } from "effect"
import { decodesWithoutEffects } from "../src/internal/pureDecode.js"

interface Tree {
  readonly label: string
  readonly children: ReadonlyArray<Tree>
}
const Tree: Schema.Schema<Tree> = Schema.Struct({
  label: Schema.String,
  children: Schema.Array(Schema.suspend(() => Tree))
})

describe("decodesWithoutEffects", () => {
  it("is true for structs, arrays, unions, literals, records, optional fields, filters and recursion", () => {
    const schema = Schema.Struct({
      answer: Schema.String.pipe(Schema.minLength(1)),
      score: Schema.Number.pipe(Schema.between(0, 1)),
      kind: Schema.Literal("a", "b"),
      tags: Schema.Array(Schema.String),
      pair: Schema.Tuple(Schema.String, Schema.Number),
      extra: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
      action: Schema.Union(Schema.TaggedStruct("Stop", {}), Schema.TaggedStruct("Go", { speed: Schema.Int })),
      tree: Tree
    })
    assert.isTrue(decodesWithoutEffects(schema.ast))
  })

  it("is false when any part transforms with an effect or is a declaration", () => {
    const effectful = Schema.transformOrFail(Schema.String, Schema.String, {
      strict: true,
      decode: (s) => Effect.succeed(s),
      encode: (s) => ParseResult.succeed(s)
    })
    assert.isFalse(decodesWithoutEffects(Schema.Struct({ a: Schema.String, b: effectful }).ast))
    assert.isFalse(decodesWithoutEffects(Schema.Array(Schema.Union(Schema.Number, effectful)).ast))
    assert.isFalse(decodesWithoutEffects(Schema.Struct({ when: Schema.Date }).ast))
    assert.isFalse(decodesWithoutEffects(Schema.Struct({ maybe: Schema.OptionFromSelf(Schema.String) }).ast))
  })
})
