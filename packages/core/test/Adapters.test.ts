import { assert, describe, it } from "@effect/vitest"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import { Arbitrary, Effect, Either, FastCheck, JSONSchema, Schema, Stream } from "effect"
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

  it("no Effect built-in annotation reaches a prompt; constraints are said in words", () => {
    const signature = Signature.make("Scored", {
      input: { question: Schema.String, limit: Schema.Int },
      output: {
        confidence: Schema.Number.pipe(Schema.between(0, 1)).annotations({ description: "How sure you are" }),
        count: Schema.Int.pipe(Schema.positive()),
        amount: Schema.NumberFromString,
        heading: Schema.NonEmptyString.pipe(Schema.maxLength(40)),
        items: Schema.Array(Schema.Struct({ id: Schema.Int, label: Schema.String.annotations({ description: "a short label" }) }))
          .pipe(Schema.maxItems(3))
      }
    })
    for (const adapter of adapters) {
      const prompt = adapter.format({ signature, instructions: signature.instructions, demos: [], inputs: { question: "q", limit: 1 }, failedReplies: [] })
      const system = ScriptedLm.systemText(prompt)
      for (const builtIn of ["a string", "a number", "an integer", "\"title\"", "between(0, 1)", "decoded into", "a non empty string", "$comment"]) {
        assert.notInclude(system, builtIn, `${adapter.name}: ${builtIn}`)
      }
      assert.include(system, "1. `question` (string)\n2. `limit` (integer)\n")
      assert.include(system, "1. `confidence` (number, between 0 and 1): How sure you are")
      assert.include(system, "2. `count` (integer, greater than 0)")
      assert.include(system, "4. `heading` (string, between 1 and 40 characters)")
      assert.include(system, "5. `items` (array, at most 3 items)")
      // a user's own description stays, nested ones included
      assert.include(system, "\"label\":{\"type\":\"string\",\"description\":\"a short label\"}")
    }
  })

  it.effect("the JSON adapter's structured output carries no Effect built-in annotation either", () =>
    Effect.gen(function*() {
      const signature = Signature.make("Scored", {
        input: { question: Schema.String },
        output: { confidence: Schema.Number.pipe(Schema.between(0, 1)), count: Schema.Int }
      })
      let sent: unknown
      const model = yield* LanguageModel.make({
        generateText: (options) =>
          Effect.sync(() => {
            if (options.responseFormat.type === "json") sent = JSONSchema.make(options.responseFormat.schema)
            return [{ type: "text", text: "{\"confidence\": 0.5, \"count\": 1}" }]
          }),
        streamText: () => Stream.empty
      })
      const reply = yield* JsonAdapter.adapter.generate(signature, Prompt.make("q")).pipe(
        Effect.provideService(LanguageModel.LanguageModel, model)
      )
      assert.strictEqual(reply.text, "{\"confidence\": 0.5, \"count\": 1}")
      const text = JSON.stringify(sent)
      assert.include(text, "\"minimum\":0")
      for (const builtIn of ["a number", "an integer", "\"title\"", "between(0, 1)"]) assert.notInclude(text, builtIn)
    }))

  it("renders list inputs and object inputs as DSPy does", () => {
    const signature = Signature.make("Rag", {
      input: { context: Schema.Array(Schema.String), profile: Schema.Struct({ name: Schema.String, tags: Schema.Array(Schema.String) }) },
      output: { answer: Schema.String }
    })
    const render = (context: ReadonlyArray<string>) =>
      ScriptedLm.inputsOf(ScriptedLm.lastUserText(
        ChatAdapter.adapter.format({
          signature,
          instructions: "",
          demos: [],
          inputs: { context, profile: { name: "Ada", tags: ["math", "machines"] } },
          failedReplies: []
        })
      ))
    assert.strictEqual(render(["alpha", "beta"])["context"], "[1] «alpha»\n[2] «beta»")
    assert.strictEqual(render(["one line"])["context"], "«one line»")
    assert.strictEqual(render([])["context"], "N/A")
    assert.strictEqual(render(["a", "two\nlines"])["context"], "[1] «a»\n[2] «««\n    two\n    lines\n»»»")
    assert.strictEqual(render([])["profile"], "{\"name\": \"Ada\", \"tags\": [\"math\", \"machines\"]}")
  })

  it("shows a demo that lacks fields, marking each as not supplied", () => {
    const signature = Signature.fromString("question, context -> answer: int, note")
    for (const adapter of adapters) {
      const prompt = adapter.format({
        signature,
        instructions: "",
        demos: [{ question: "2+2?", answer: 4 }, { question: "3+3?", context: "math", answer: 6, note: "easy" }, {}],
        inputs: { question: "1+1?", context: "math" },
        failedReplies: []
      })
      const texts = prompt.content.map((m) => typeof m.content === "string" ? m.content : m.content.map((p) => (p.type === "text" ? p.text : "")).join(""))
      // system, two demos (the empty one has nothing to show), the question
      assert.strictEqual(texts.length, 6, adapter.name)
      assert.strictEqual(
        texts[1],
        "This is an example of the task, though some input or output fields are not supplied.\n\n[[ ## question ## ]]\n2+2?\n\n[[ ## context ## ]]\nNot supplied for this particular example."
      )
      assert.include(texts[2], adapter === ChatAdapter.adapter ? "[[ ## note ## ]]\nNot supplied for this particular example." : "\"note\":\"Not supplied for this particular example.\"")
      assert.notInclude(texts[3], "not supplied")
    }
  })

  it("reads and writes enums as text", () => {
    enum Sentiment {
      Positive = "positive",
      Negative = "negative"
    }
    const signature = Signature.make("Sentiment", {
      input: { text: Schema.String, previous: Schema.Enums(Sentiment) },
      output: { sentiment: Schema.Enums(Sentiment) }
    })
    assert.strictEqual(signature.inputFields[1]?.kind, "text")
    assert.strictEqual(signature.outputFields[0]?.kind, "text")
    const prompt = ChatAdapter.adapter.format({
      signature,
      instructions: "",
      demos: [],
      inputs: { text: "great", previous: Sentiment.Negative },
      failedReplies: []
    })
    assert.include(ScriptedLm.lastUserText(prompt), "[[ ## previous ## ]]\nnegative\n")
    assert.notInclude(ScriptedLm.lastUserText(prompt), "(must be formatted as valid JSON)")
    const parsed = ChatAdapter.adapter.parse(signature, "[[ ## sentiment ## ]]\npositive\n\n[[ ## completed ## ]]")
    assert.deepStrictEqual(parsed, Either.right({ values: { sentiment: "positive" }, nearMisses: [] }))
  })

  it("each adapter streams through its own field stream parser", () => {
    const signature = Signature.fromString("question -> answer: int")
    const run = (adapter: Adapter.Adapter, text: string) => {
      const parser = adapter.streamParser(signature)
      return [...text].flatMap((c) => parser.push(c)).concat(parser.end()).map((c) => c.delta).join("")
    }
    assert.strictEqual(run(ChatAdapter.adapter, "<think>[[ ## answer ## ]]\n5</think>[[ ## answer ## ]]\n4"), "4")
    assert.strictEqual(run(JsonAdapter.adapter, "<think>{\"answer\": 5}</think>{\"answer\": 4}"), "4")
  })
})

