import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, Schema } from "effect"
import * as AST from "effect/SchemaAST"
import { ChatAdapter, JsonAdapter, NearMiss, Signature } from "../src/index.js"

// Near-misses as real models write them, rendered by this test from a value and its Schema (our
// own renderer, independent of the adapters), then read back by the adapters.

const Team = Schema.Literal("billing", "tech", "sales")
enum Mood {
  Happy = "happy",
  Upset = "upset"
}
enum Level {
  Low = 1,
  High = 2
}
const Action = Schema.Union(
  Schema.TaggedStruct("Refund", { amount: Schema.Finite, team: Team }),
  Schema.TaggedStruct("Escalate", { urgent: Schema.Boolean })
)

// The family of output Schemas the laws range over.
const family: ReadonlyArray<readonly [string, Schema.Schema.Any]> = [
  ["literals", Team],
  ["string enum", Schema.Enums(Mood)],
  ["number enum", Schema.Enums(Level)],
  ["number", Schema.Finite],
  ["integer", Schema.Int],
  ["boolean", Schema.Boolean],
  ["nullable number", Schema.NullOr(Schema.Finite)],
  ["array of literals", Schema.Array(Team)],
  ["array of numbers", Schema.Array(Schema.Finite)],
  [
    "struct with optional field",
    Schema.Struct({
      name: Schema.String,
      team: Team,
      score: Schema.Finite,
      active: Schema.Boolean,
      note: Schema.optional(Schema.String)
    })
  ],
  [
    "nested structs",
    Schema.Struct({
      items: Schema.Array(Schema.Struct({ id: Schema.Int, tags: Schema.Array(Schema.String), level: Schema.Enums(Level) })),
      owner: Schema.NullOr(Schema.String)
    })
  ],
  ["tagged union", Action]
]

// --- the renderer ------------------------------------------------------------------------------

const swapCase = (s: string): string =>
  [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join("")

/** A string in Python's single-quoted form. */
const pyString = (s: string): string =>
  `'${
    [...s].map((c) => {
      if (c === "\\") return "\\\\"
      if (c === "'") return "\\'"
      if (c === "\n") return "\\n"
      const code = c.codePointAt(0)!
      return code < 0x20 ? `\\u${code.toString(16).padStart(4, "0")}` : c
    }).join("")
  }'`

const enumName = (ast: AST.AST, value: unknown): string | undefined =>
  AST.isEnums(ast) ? ast.enums.find(([, v]) => v === value)?.[0] : undefined

const memberFor = (ast: AST.Union, value: unknown): AST.AST =>
  ast.types.find((member) => Schema.is(Schema.make(member))(value)) ?? ast.types[0]!

/**
 * A value as a model drifting toward Python writes it: single quotes, `True`/`None`, trailing
 * commas, literals in another case, numbers as strings, enum values by name.
 */
const python = (ast: AST.AST, value: unknown): string => {
  switch (ast._tag) {
    case "Union":
      return python(memberFor(ast, value), value)
    case "Suspend":
      return python(ast.f(), value)
    case "Literal":
      return typeof value === "string" ? pyString(swapCase(value)) : pythonJson(value)
    case "Enums": {
      const name = enumName(ast, value)
      return name !== undefined && typeof value === "number" ? pyString(name) : pyString(swapCase(String(value)))
    }
    case "NumberKeyword":
      return pyString(String(value))
    case "TupleType": {
      const items = value as ReadonlyArray<unknown>
      const element = (i: number) => (i < ast.elements.length ? ast.elements[i]!.type : ast.rest[0]!.type)
      return `[${items.map((v, i) => `${python(element(i), v)}, `).join("")}]`
    }
    case "TypeLiteral": {
      const record = value as Record<string, unknown>
      const parts = ast.propertySignatures
        .filter((p) => typeof p.name === "string" && record[p.name] !== undefined)
        .map((p) => `${pyString(String(p.name))}: ${python(p.type, record[p.name as string])}, `)
      return `{${parts.join("")}}`
    }
    default:
      return pythonJson(value)
  }
}

const pythonJson = (value: unknown): string =>
  value === null ? "None" : value === true ? "True" : value === false ? "False" : typeof value === "string" ? pyString(value) : JSON.stringify(value)

/** The near-miss renderings of a field value in the chat format (each differs from what we asked). */
const renderings = (ast: AST.AST, value: unknown): ReadonlyArray<string> => {
  const choices = ast._tag === "Literal" || ast._tag === "Enums" || (ast._tag === "Union" && ast.types.every(AST.isLiteral))
  if (ast._tag === "Union" && !choices) {
    const nonNull = ast.types.filter((t) => !(AST.isLiteral(t) && t.literal === null))
    if (value === null) return ["None", "null."]
    if (nonNull.length === 1) return renderings(nonNull[0]!, value)
  }
  if (choices && typeof value === "string") {
    const name = enumName(ast, value)
    return [
      `'${value}'`,
      swapCase(value),
      `${value}.`,
      `**${value}**`,
      `Literal['${value}']`,
      ...(name !== undefined && name.toLowerCase() !== value.toLowerCase() ? [name] : [])
    ]
  }
  if (choices && typeof value === "number") return [`"${value}"`, ...(enumName(ast, value) === undefined ? [] : [enumName(ast, value)!])]
  if (typeof value === "number") return [`"${value}"`, `${value} points`, `$${value}`, `${value}.`]
  if (typeof value === "boolean") return [value ? "True" : "False", value ? "yes" : "no", `"${value}"`, value ? "Yes." : "No."]
  const py = python(ast, value)
  const opener = py.slice(0, 1)
  return [
    // (an empty list is valid JSON even in Python style)
    ...(py === "[]" ? [] : [py]),
    `\`\`\`python\n${py}\n\`\`\``,
    `${opener} // what the customer asked for\n${py.slice(1)}`
  ]
}

// --- the laws ----------------------------------------------------------------------------------

const wire = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

describe("near-misses", () => {
  for (const [label, schema] of family) {
    const signature = Signature.make(`Drift_${label.replaceAll(" ", "_")}`, { input: { q: Schema.String }, output: { v: schema } })
    const field = signature.outputFields[0]!
    const encode = Schema.encodeSync(schema as Schema.Schema<unknown, unknown>)
    const decode = Schema.decodeUnknownSync(schema as Schema.Schema<unknown, unknown>)

    it.prop(
      `every near-miss rendering of a ${label} value reads back to the value (chat format)`,
      [Arbitrary.make(schema as Schema.Schema<unknown, unknown>)],
      ([value]) => {
        const encoded = encode(value)
        for (const text of renderings(field.encoded, encoded)) {
          const reply = `[[ ## v ## ]]\n${text}\n\n[[ ## completed ## ]]`
          const parsed = ChatAdapter.adapter.parse(signature, reply)
          assert.isTrue(Either.isRight(parsed), `${JSON.stringify(text)}: ${Either.isLeft(parsed) ? parsed.left.issue : ""}`)
          if (Either.isRight(parsed)) {
            assert.deepStrictEqual(wire(parsed.right.values["v"]), wire(encoded), JSON.stringify(text))
            assert.deepStrictEqual(wire(decode(parsed.right.values["v"])), wire(value))
            assert.isAbove(parsed.right.nearMisses.length, 0, `${JSON.stringify(text)} is recorded as a near-miss`)
            for (const miss of parsed.right.nearMisses) assert.strictEqual(miss.field, "v")
          }
        }
      },
      { fastCheck: { numRuns: 60 } }
    )

    it.prop(
      `a ${label} value in a Python-style object reads back to the value (JSON format)`,
      [Arbitrary.make(schema as Schema.Schema<unknown, unknown>)],
      ([value]) => {
        const encoded = encode(value)
        const text = `Here you go:\n\`\`\`\n{'v': ${python(field.encoded, encoded)}, }\n\`\`\``
        const parsed = JsonAdapter.adapter.parse(signature, text)
        assert.isTrue(Either.isRight(parsed), `${text}: ${Either.isLeft(parsed) ? parsed.left.issue : ""}`)
        if (Either.isRight(parsed)) {
          assert.deepStrictEqual(wire(parsed.right.values["v"]), wire(encoded))
          assert.isTrue(parsed.right.nearMisses.some((m) => m.kind === "json-repaired"))
        }
      },
      { fastCheck: { numRuns: 60 } }
    )
  }

  it("records what was forgiven, field by field", () => {
    const signature = Signature.make("Route", {
      input: { ticket: Schema.String },
      output: {
        team: Team,
        confidence: Schema.Number.pipe(Schema.between(0, 1)),
        urgent: Schema.Boolean,
        people: Schema.Array(Schema.Struct({ name: Schema.String })),
        note: Schema.NullOr(Schema.String)
      }
    })
    const parsed = ChatAdapter.adapter.parse(
      signature,
      "[[ ## team ## ]]\nBilling.\n\n[[ ## confidence ## ]]\n0.9 points\n\n[[ ## urgent ## ]]\nTrue\n\n[[ ## people ## ]]\n[{'name': 'Ada'},]\n\n[[ ## completed ## ]]"
    )
    assert.deepStrictEqual(Either.map(parsed, (p) => p.nearMisses.map(NearMiss.describe)), Either.right([
      "team: literal-case \"Billing.\" read as \"billing\"",
      "confidence: number-unit \"0.9 points\" read as 0.9",
      "urgent: boolean-word \"True\" read as true",
      "people: json-repaired \"[{'name': 'Ada'},]\" read as [{\"name\":\"Ada\"}]",
      "note: absent-null \"\" read as null"
    ]))
  })

  it("stays strict where leniency could pick a wrong answer", () => {
    const cases: ReadonlyArray<readonly [Schema.Schema.Any, string, string]> = [
      [Schema.Literal("yes", "YES"), "Yes", "matches more than one"],
      [Schema.Finite, "3 or 4", "more than one number"],
      [Schema.Finite, "2024-01-01", "more than one number"],
      [Schema.Finite, "90%", "percentage"],
      [Schema.Array(Schema.Finite), "[1, 2", "cut off"],
      [Schema.Array(Schema.Finite), "[1, 2]\n[3]", "more than one JSON value"],
      [Schema.Struct({ a: Schema.Finite }), "{'a': {'b': 1}", "cut off"]
    ]
    for (const [schema, text, issue] of cases) {
      const signature = Signature.make("Strict", { input: { q: Schema.String }, output: { v: schema } })
      const parsed = ChatAdapter.adapter.parse(signature, `[[ ## v ## ]]\n${text}\n\n[[ ## completed ## ]]`)
      assert.isTrue(Either.isLeft(parsed), text)
      if (Either.isLeft(parsed)) assert.include(parsed.left.issue, issue, text)
    }
    // what no rule forgives is left to the Schema, which names it
    const words = Signature.make("Words", { input: { q: Schema.String }, output: { v: Schema.Finite, team: Team } })
    const parsed = ChatAdapter.adapter.parse(words, "[[ ## v ## ]]\nabout four\n\n[[ ## team ## ]]\nbilling or tech")
    assert.deepStrictEqual(Either.map(parsed, (p) => p.values), Either.right({ v: "about four", team: "billing or tech" }))
  })

  it("drops a leading think block, opened or not", () => {
    const signature = Signature.fromString("question -> answer: int")
    for (
      const reply of [
        "<think>I could write\n[[ ## answer ## ]]\n5\nbut no.</think>\n[[ ## answer ## ]]\n4",
        "Thinking: the answer is 5? No.\n[[ ## answr ## ]]\n</think>\n\n[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]",
        "  <think>\n\n</think>[[ ## answer ## ]]\n4"
      ]
    ) {
      const parsed = ChatAdapter.adapter.parse(signature, reply)
      assert.deepStrictEqual(Either.map(parsed, (p) => p.values), Either.right({ answer: 4 }), reply)
    }
    // after the answer has started, `</think>` is text
    const text = Signature.fromString("question -> answer")
    assert.deepStrictEqual(
      Either.map(ChatAdapter.adapter.parse(text, "[[ ## answer ## ]]\nClose it with </think> and go."), (p) => p.values),
      Either.right({ answer: "Close it with </think> and go." })
    )
    const unclosed = ChatAdapter.adapter.parse(signature, "<think>the answer is [[ ## answer ## ]] 4")
    assert.isTrue(Either.isLeft(unclosed) && unclosed.left.issue.includes("never closes"))
    assert.deepStrictEqual(
      Either.map(JsonAdapter.adapter.parse(signature, "<think>{\"answer\": 5}</think>{\"answer\": 4}"), (p) => p.values),
      Either.right({ answer: 4 })
    )
  })

  it("reads a missing optional output as absent and a missing nullable one as null", () => {
    const signature = Signature.make("Partial", {
      input: { q: Schema.String },
      output: { answer: Schema.String, maybe: Schema.optional(Schema.Finite), score: Schema.NullOr(Schema.Finite) }
    })
    for (const adapter of [ChatAdapter.adapter, JsonAdapter.adapter]) {
      const parsed = adapter.parse(signature, adapter === ChatAdapter.adapter ? "[[ ## answer ## ]]\nhi" : "{\"answer\": \"hi\"}")
      assert.deepStrictEqual(Either.map(parsed, (p) => p.values), Either.right({ answer: "hi", score: null }), adapter.name)
    }
  })

  it("a marker quoted in the middle of a line never splits a text value", () => {
    const signature = Signature.fromString("question -> reasoning, answer")
    const line = FastCheck.tuple(
      FastCheck.constantFrom("I will write", "Then", "x", "-", "Note:"),
      FastCheck.array(FastCheck.constantFrom(" [[ ## answer ## ]]", " [[ ## reasoning ## ]]", " [[ ## completed ## ]]", " word", " [[", " ## ]]"), {
        maxLength: 5
      })
    ).map(([head, rest]) => head + rest.join(""))
    FastCheck.assert(
      FastCheck.property(FastCheck.array(line, { minLength: 1, maxLength: 4 }), (lines) => {
        const reasoning = lines.join("\n")
        const reply = ChatAdapter.adapter.formatOutputs(signature, { reasoning, answer: "42" })
        const parsed = ChatAdapter.adapter.parse(signature, reply)
        assert.deepStrictEqual(Either.map(parsed, (p) => p.values), Either.right({ reasoning, answer: "42" }))
      }),
      { numRuns: 200 }
    )
  })
})
