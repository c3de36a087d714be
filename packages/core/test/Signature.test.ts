import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { DspyError, Signature } from "../src/index.js"

describe("Signature", () => {
  it("parses the shorthand form with types", () => {
    const sig = Signature.fromString("question, context: string[] -> answer: int, sure: boolean")
    assert.deepStrictEqual(sig.inputFields.map((f) => f.name), ["question", "context"])
    assert.deepStrictEqual(sig.outputFields.map((f) => [f.name, f.kind]), [["answer", "json"], ["sure", "json"]])
    // type-level: the input type is inferred from the string
    const input: Signature.Input<typeof sig> = { question: "q", context: ["a"] }
    const output: Signature.Output<typeof sig> = { answer: 1, sure: true }
    assert.isDefined(input)
    assert.isDefined(output)
  })

  it("rejects malformed declarations with a typed error", () => {
    for (const bad of ["question answer", "-> a", "q -> ", "q -> a: tensor", "q -> q", "q -> completed", "1x -> a"]) {
      const result = Signature.decodeString(bad)
      assert.isTrue(Either.isLeft(result), bad)
      if (Either.isLeft(result)) assert.strictEqual(result.left._tag, "InvalidSignature")
    }
  })

  it("make throws the typed InvalidSignature for a bad declaration", () => {
    try {
      Signature.make("Bad", { input: { q: Schema.String }, output: { q: Schema.String } })
      assert.fail("expected a throw")
    } catch (error) {
      assert.instanceOf(error, DspyError.InvalidSignature)
      assert.include(String((error as Error).message), "\"q\" is both an input and an output field")
    }
  })

  it("describes fields for the adapters", () => {
    const sig = Signature.make("S", {
      input: { q: Schema.String.annotations({ description: "the question" }) },
      output: {
        mood: Schema.Literal("happy", "upset"),
        n: Schema.optional(Schema.Number),
        items: Schema.Array(Schema.Struct({ id: Schema.String }))
      }
    })
    const [mood, n, items] = sig.outputFields
    assert.strictEqual(sig.inputFields[0]?.description, "the question")
    assert.strictEqual(mood?.kind, "text")
    assert.strictEqual(mood?.typeLabel, "string, one of: \"happy\", \"upset\"")
    assert.isTrue(n?.optional)
    assert.strictEqual(n?.typeLabel, "number")
    assert.strictEqual(items?.kind, "json")
  })
})
