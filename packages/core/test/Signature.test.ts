import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, JSONSchema, Schema } from "effect"
import { DspyError, Signature } from "../src/index.js"

/** A shorthand type written out, and the Schema it stands for (built here, not by the parser). */
interface Generated {
  readonly text: string
  readonly schema: Schema.Schema<unknown>
}

const as = (schema: Schema.Schema.Any): Schema.Schema<unknown> => schema as Schema.Schema<unknown>

const baseType: FastCheck.Arbitrary<Generated> = FastCheck.constantFrom(
  ...([
    ["str", Schema.String],
    ["string", Schema.String],
    ["int", Schema.Int],
    ["integer", Schema.Int],
    ["float", Schema.Number],
    ["number", Schema.Number],
    ["bool", Schema.Boolean],
    ["boolean", Schema.Boolean]
  ] as const).map(([text, schema]) => ({ text, schema: as(schema) }))
)

const literalValue = FastCheck.oneof(
  FastCheck.stringMatching(/^[a-z][a-z ,|\][-]{0,6}$/).map((s) => ({ text: `'${s}'`, value: s as string | number | boolean | null })),
  FastCheck.stringMatching(/^[a-z]{1,6}$/).map((s) => ({ text: `"${s}"`, value: s as string | number | boolean | null })),
  FastCheck.integer({ min: -50, max: 50 }).map((n) => ({ text: String(n), value: n as string | number | boolean | null })),
  FastCheck.constantFrom(
    { text: "True", value: true as string | number | boolean | null },
    { text: "False", value: false as string | number | boolean | null },
    { text: "None", value: null as string | number | boolean | null }
  )
)

const literalType: FastCheck.Arbitrary<Generated> = FastCheck.uniqueArray(literalValue, {
  minLength: 1,
  maxLength: 4,
  selector: (l) => l.value
}).map((items) => ({
  text: `Literal[${items.map((i) => i.text).join(", ")}]`,
  schema: as(Schema.Literal(...items.map((i) => i.value)))
}))

// member: what `[]` may follow; type: members joined by `|`
const { type: shorthandType } = FastCheck.letrec<{ member: Generated; type: Generated }>((tie) => ({
  member: FastCheck.oneof(
    { depthSize: "small", withCrossShrink: true },
    baseType,
    literalType,
    tie("type").map((t) => ({ text: `list[${t.text}]`, schema: as(Schema.Array(t.schema)) })),
    tie("member").map((t) => ({ text: `${t.text}[]`, schema: as(Schema.Array(t.schema)) })),
    tie("type").map((t) => ({ text: `dict[str, ${t.text}]`, schema: as(Schema.Record({ key: Schema.String, value: t.schema })) })),
    tie("type").map((t) => ({ text: `Optional[${t.text}]`, schema: as(Schema.NullOr(t.schema)) })),
    FastCheck.array(tie("type"), { minLength: 2, maxLength: 3 }).map((ts) => ({
      text: `Union[${ts.map((t) => t.text).join(", ")}]`,
      schema: as(Schema.Union(...ts.map((t) => t.schema)))
    }))
  ),
  type: FastCheck.oneof(
    { depthSize: "small", withCrossShrink: true },
    tie("member"),
    tie("member").map((t) => ({ text: `${t.text} | None`, schema: as(Schema.Union(t.schema, Schema.Null)) })),
    FastCheck.array(tie("member"), { minLength: 2, maxLength: 3 }).map((ts) => ({
      text: ts.map((t) => t.text).join(" | "),
      schema: as(Schema.Union(...ts.map((t) => t.schema)))
    }))
  )
}))

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

// --- shorthand types ---------------------------------------------------------------------------

/** `true` when A and B are the same type. */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
const same = <A, B>(_proof: Equals<A, B>): void => {}

describe("shorthand types", () => {
  it("types each of DSPy's everyday types at compile time", () => {
    const sig = Signature.fromString(`question, context: list[str], k: int ->
      team: Literal['billing', 'tech'], scores: dict[str, int], maybe: Optional[int], count: int | None, id: str | int,
      rows: list[dict[str, float]], tags: str[], level: Literal[1, 2, True, None], either: Union[bool, float], flag: bool`)
    type I = Signature.Input<typeof sig>
    type O = Signature.Output<typeof sig>
    same<I, { readonly question: string; readonly context: ReadonlyArray<string>; readonly k: number }>(true)
    same<O["team"], "billing" | "tech">(true)
    same<O["scores"], { readonly [x: string]: number }>(true)
    same<O["maybe"], number | null>(true)
    same<O["count"], number | null>(true)
    same<O["id"], string | number>(true)
    same<O["rows"], ReadonlyArray<{ readonly [x: string]: number }>>(true)
    same<O["tags"], ReadonlyArray<string>>(true)
    same<O["level"], 1 | 2 | true | null>(true)
    same<O["either"], boolean | number>(true)
    same<O["flag"], boolean>(true)
    // and the runtime Schemas accept exactly those values
    const decode = Schema.decodeUnknownEither(sig.output)
    const good = {
      team: "tech",
      scores: { a: 1 },
      maybe: null,
      count: 3,
      id: "x",
      rows: [{ x: 1.5 }],
      tags: [],
      level: true,
      either: 2.5,
      flag: false
    }
    assert.isTrue(Either.isRight(decode(good)))
    for (const bad of [{ team: "sales" }, { scores: { a: 1.5 } }, { count: "3" }, { level: 3 }, { rows: [{ x: "1" }] }]) {
      assert.isTrue(Either.isLeft(decode({ ...good, ...bad })), JSON.stringify(bad))
    }
  })

  it("rejects unknown types, duplicate fields and malformed types at compile time and at runtime", () => {
    assert.throws(() =>
      // @ts-expect-error an unknown type
      Signature.fromString("q -> a: tensor")
    )
    assert.throws(() =>
      // @ts-expect-error a field declared twice
      Signature.fromString("q -> a, a: int")
    )
    assert.throws(() =>
      // @ts-expect-error a field both input and output
      Signature.fromString("q, a -> a")
    )
    assert.throws(() =>
      // @ts-expect-error dict keys are strings
      Signature.fromString("q -> a: dict[int, str]")
    )
    assert.throws(() =>
      // @ts-expect-error a literal must be quoted text, a number, True, False or None
      Signature.fromString("q -> a: Literal[billing]")
    )
    assert.throws(() =>
      // @ts-expect-error no arrow
      Signature.fromString("question answer")
    )
    // a string built at runtime is checked at runtime only
    const built: string = "q -> a: tensor"
    assert.throws(() => Signature.fromString(built))
  })

  it.prop(
    "the runtime parse agrees with the grammar (and so with the types that mirror it)",
    [shorthandType],
    ([generated]) => {
      const parsed = Signature.decodeString(`q -> v: ${generated.text}`)
      assert.isTrue(Either.isRight(parsed), `${generated.text}: ${Either.isLeft(parsed) ? parsed.left.reason : ""}`)
      if (Either.isLeft(parsed)) return
      const schema = parsed.right.output.fields["v"] as Schema.Schema<unknown>
      assert.deepStrictEqual(JSONSchema.make(schema), JSONSchema.make(generated.schema), generated.text)
      // values of the expected type are exactly the values of the parsed one
      FastCheck.assert(
        FastCheck.property(Arbitrary.make(generated.schema), (value) => {
          assert.isTrue(Schema.is(schema)(value), `${generated.text} accepts ${JSON.stringify(value)}`)
        }),
        { numRuns: 10 }
      )
    },
    { fastCheck: { numRuns: 150 } }
  )
})
