import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, Schema } from "effect"
import { type Adapter, ChatAdapter, JsonAdapter, Signature } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const Size = Schema.Literal("small", "medium", "large")
const Action = Schema.Union(
  Schema.TaggedStruct("MakeDrink", { drink: Schema.String, size: Size, extras: Schema.Array(Schema.String) }),
  Schema.TaggedStruct("RefundOrder", { amount: Schema.Finite }),
  Schema.TaggedStruct("Joke", {})
)

// Signatures covering each kind of field the adapters must carry.
const signatures: ReadonlyArray<Signature.Any> = [
  Signature.make("Strings", { input: { q: Schema.String }, output: { a: Schema.String, b: Schema.String } }),
  Signature.make("Scalars", {
    input: { q: Schema.String },
    output: { n: Schema.Finite, i: Schema.Int, flag: Schema.Boolean, size: Size }
  }),
  Signature.make("Structured", {
    input: { q: Schema.String },
    output: {
      action: Action,
      tags: Schema.Array(Schema.String),
      nested: Schema.Struct({ x: Schema.Finite, label: Schema.String }),
      maybe: Schema.optionalWith(Schema.String, { exact: true })
    }
  })
]

const adapters: ReadonlyArray<Adapter.Adapter> = [ChatAdapter.adapter, JsonAdapter.adapter]

describe("adapters", () => {
  for (const adapter of adapters) {
    for (const signature of signatures) {
      it(`${adapter.name} reads back what it formats (${signature.name})`, () => {
        const output = signature.output as unknown as Schema.Schema<Record<string, unknown>>
        const arbitrary = Arbitrary.make(output)
        const encode = Schema.encodeSync(output)
        const decode = Schema.decodeUnknownSync(output)
        FastCheck.assert(
          FastCheck.property(arbitrary, (value) => {
            const encoded = encode(value)
            const text = adapter.formatOutputs(signature, encoded)
            const parsed = adapter.parse(signature, text)
            assert.isTrue(Either.isRight(parsed), Either.isLeft(parsed) ? parsed.left.issue : "")
            if (Either.isRight(parsed)) {
              // JSON is the wire: it has no -0, so compare with the JSON image of the value
              const wire = JSON.parse(JSON.stringify(encoded))
              assert.deepStrictEqual(parsed.right.values, wire)
              assert.deepStrictEqual(decode(parsed.right.values), decode(wire))
              // what the adapter writes is exactly what it asks for: nothing to forgive
              assert.deepStrictEqual(parsed.right.nearMisses, [])
            }
          }),
          { numRuns: 200 }
        )
      })

      it(`${adapter.name} never crashes on junk replies (${signature.name})`, () => {
        FastCheck.assert(
          FastCheck.property(
            FastCheck.oneof(
              FastCheck.string(),
              FastCheck.string({ unit: FastCheck.constantFrom("[", "]", "#", " ", "\n", "{", "}", "\"", "a", ":", "1") }),
              FastCheck.json()
            ),
            (junk) => {
              const parsed = adapter.parse(signature, junk)
              if (Either.isRight(parsed)) {
                // whatever was read must still be checked by the output Schema: no silent wrong value
                const decoded = Schema.decodeUnknownEither(signature.output as unknown as Schema.Schema<unknown>)(parsed.right.values)
                assert.isTrue(Either.isRight(decoded) || Either.isLeft(decoded))
              } else {
                assert.isString(parsed.left.issue)
              }
            }
          ),
          { numRuns: 300 }
        )
      })
    }
  }

  it("ChatAdapter prompt follows PROMPT_FORMAT.md", () => {
    const signature = Signature.make("QA", {
      instructions: "Answer briefly.",
      input: { question: Schema.String.annotations({ description: "The question to answer." }) },
      output: { size: Size, answer: Schema.Finite }
    })
    const prompt = ChatAdapter.adapter.format({
      signature,
      instructions: signature.instructions,
      demos: [{ question: "q1", size: "small", answer: 1 }],
      inputs: { question: "What is 2+2?" },
      failedReplies: []
    })
    const system = ScriptedLm.systemText(prompt)
    assert.include(system, "1. `question` (string): The question to answer.")
    assert.include(system, "1. `size` (string, one of: \"small\", \"medium\", \"large\")")
    assert.include(system, "# note: the value you produce must adhere to the JSON schema: {\"type\":\"number\"")
    assert.include(system, "In adhering to this structure, your objective is: \n        Answer briefly.")
    assert.strictEqual(prompt.content.length, 4) // system, demo user, demo assistant, user
    const last = ScriptedLm.lastUserText(prompt)
    assert.include(last, "[[ ## question ## ]]\nWhat is 2+2?")
    assert.include(
      last,
      "Respond with the corresponding output fields, starting with the field `[[ ## size ## ]]`, then the field `[[ ## answer ## ]]` (must be formatted as valid JSON), and then ending with the marker for `[[ ## completed ## ]]`."
    )
  })

  it("JsonAdapter reads fenced and embedded JSON", () => {
    const signature = Signature.fromString("q -> answer: int, note")
    for (
      const text of [
        "{\"answer\": 4, \"note\": \"ok\"}",
        "```json\n{\"answer\": 4, \"note\": \"ok\"}\n```",
        "Sure! Here it is: {\"answer\": 4, \"note\": \"ok\"} Hope that helps."
      ]
    ) {
      const parsed = JsonAdapter.adapter.parse(signature, text)
      assert.deepStrictEqual(Either.map(parsed, (p) => p.values), Either.right({ answer: 4, note: "ok" }))
    }
    const missing = JsonAdapter.adapter.parse(signature, "{\"answer\": 4}")
    assert.isTrue(Either.isLeft(missing))
  })
})
