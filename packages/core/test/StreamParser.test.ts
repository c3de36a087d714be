import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck } from "effect"
import { ChatAdapter, Signature } from "../src/index.js"
import * as StreamParser from "../src/internal/streamParser.js"

/** Cuts text at the given (sorted, deduplicated) positions. */
const cut = (text: string, positions: ReadonlyArray<number>): Array<string> => {
  const points = [...new Set(positions.map((p) => p % (text.length + 1)))].sort((a, b) => a - b)
  const out: Array<string> = []
  let start = 0
  for (const p of points) {
    out.push(text.slice(start, p))
    start = p
  }
  out.push(text.slice(start))
  return out
}

const collect = (parser: StreamParser.FieldStreamParser, pieces: ReadonlyArray<string>): Map<string, string> => {
  const out = new Map<string, string>()
  const take = (chunks: ReadonlyArray<StreamParser.FieldChunk>) => {
    for (const c of chunks) {
      assert.isTrue(c.delta.length > 0, "no empty deltas")
      out.set(c.field, (out.get(c.field) ?? "") + c.delta)
    }
  }
  for (const piece of pieces) take(parser.push(piece))
  take(parser.end())
  return out
}

const fields = ["reasoning", "answer", "note"]
const valueChars = FastCheck.constantFrom("a", "b", " ", "\n", "[", "]", "#", "\t", "é", "{", "\"", "<", ">", "/")
const value = FastCheck.array(valueChars, { maxLength: 30 }).map((cs) => cs.join(""))
const sectionName = FastCheck.constantFrom("reasoning", "answer", "note", "other", "completed")
// pieces of text that real replies hold and that a reader could mistake for structure
const tricky = FastCheck.constantFrom(
  "[[ ## answer ## ]]",
  " [[ ## note ## ]] ",
  "\n[[ ## answer ## ]]\n",
  "\n  [[ ## reasoning ## ]] ",
  "<think>",
  "</think>",
  "\n</think>\n",
  "[[ ## ans",
  "\r\n",
  "word "
)
const noisyValue = FastCheck.array(FastCheck.oneof(valueChars, tricky), { maxLength: 20 }).map((cs) => cs.join(""))
const thinkStart = FastCheck.constantFrom("", "<think>", "  <think>\n", "thinking out loud ", "<thi")

describe("chat marker reader", () => {
  it("streams each field as soon as its marker is read", () => {
    const parser = StreamParser.markers(["reasoning", "answer"])
    assert.deepStrictEqual(parser.push("[[ ## reas"), [])
    assert.deepStrictEqual(parser.push("oning ## ]]\nTwo and"), [{ field: "reasoning", delta: "Two and" }])
    assert.deepStrictEqual(parser.push(" two.\n\n[["), [{ field: "reasoning", delta: " two." }])
    assert.deepStrictEqual(parser.push(" ## answer ## ]]\n4\n\n[[ ## completed ## ]]"), [{ field: "answer", delta: "4" }])
    assert.deepStrictEqual(parser.end(), [])
  })

  it("keeps brackets that cannot start a marker", () => {
    const parser = StreamParser.markers(["answer"])
    const got = collect(parser, ["[[ ## answer ## ]]\nlist[0] is [", "x] and [[y]]"])
    assert.strictEqual(got.get("answer"), "list[0] is [x] and [[y]]")
  })

  it("drops a leading think block and reads markers only at line starts", () => {
    const parser = StreamParser.markers(["answer"])
    const got = collect(parser, [
      "<th",
      "ink>I will write [[ ## answer ## ]]\n[[ ## answer ## ]]\n5</thi",
      "nk>\n[[ ## answer ## ]]\n4, not [[ ## answer ## ]] 5",
      "\n\n[[ ## completed ## ]]"
    ])
    assert.strictEqual(got.get("answer"), "4, not [[ ## answer ## ]] 5")
    const unopened = collect(StreamParser.markers(["answer"]), ["reasoning [[ ## answer ## ]] 5\n</th", "ink>\n[[ ## answer ## ]]\n4"])
    assert.strictEqual(unopened.get("answer"), "4")
  })

  it.prop(
    "joined deltas equal the whole-reply parse, however the text is split (think blocks, quoted markers)",
    [
      thinkStart,
      noisyValue,
      FastCheck.array(FastCheck.tuple(sectionName, noisyValue), { maxLength: 5 }),
      FastCheck.array(FastCheck.nat(), { maxLength: 12 })
    ],
    ([start, preamble, sections, positions]) => {
      const text = start + preamble + sections.map(([name, v]) => `\n[[ ## ${name} ## ]]\n${v}\n\n`).join("")
      const expected = ChatAdapter.sections(text)
      const got = collect(StreamParser.markers(fields), cut(text, positions))
      for (const field of fields) {
        const section = expected.get(field)
        assert.strictEqual(got.get(field) ?? "", section === undefined ? "" : section.trim(), `field ${field} of ${JSON.stringify(text)}`)
      }
      // and the same values as the adapter's parse, when it reads the reply
      const parsed = ChatAdapter.adapter.parse(Signature.fromString("q -> reasoning, answer, note"), text)
      if (Either.isRight(parsed)) {
        for (const field of fields) {
          const v = parsed.right.values[field]
          const joined = got.get(field) ?? ""
          // a section written as a JSON string literal is unwrapped by the parse, not by the stream
          if (!(joined.startsWith("\"") && joined.endsWith("\"") && joined.length >= 2)) assert.strictEqual(joined, v)
        }
      }
    }
  )

  it.prop(
    "joined deltas equal the adapter's trimmed sections, however the text is split",
    [
      FastCheck.array(FastCheck.tuple(sectionName, value), { maxLength: 6 }),
      value,
      FastCheck.array(FastCheck.nat(), { maxLength: 12 })
    ],
    ([sections, preamble, positions]) => {
      const text = preamble + sections.map(([name, v]) => `[[ ## ${name} ## ]]\n${v}\n\n`).join("")
      const expected = ChatAdapter.sections(text)
      const got = collect(StreamParser.markers(fields), cut(text, positions))
      for (const field of fields) {
        const section = expected.get(field)
        const trimmed = section === undefined ? "" : section.trim()
        assert.strictEqual(got.get(field) ?? "", trimmed, `field ${field} of ${JSON.stringify(text)}`)
      }
    }
  )
})

const jsonValue: FastCheck.Arbitrary<unknown> = FastCheck.oneof(
  FastCheck.string({ unit: "binary", maxLength: 20 }),
  FastCheck.integer(),
  FastCheck.boolean(),
  FastCheck.constant(null),
  FastCheck.array(FastCheck.oneof(FastCheck.string({ maxLength: 5 }), FastCheck.integer()), { maxLength: 4 }),
  FastCheck.dictionary(FastCheck.string({ maxLength: 4 }), FastCheck.string({ maxLength: 6 }), { maxKeys: 3 })
)

describe("JSON key reader", () => {
  it("streams decoded string values and the JSON text of others", () => {
    const parser = StreamParser.json(["answer", "score"])
    const got = collect(parser, ["Sure:\n```json\n{\"ans", "wer\": \"a \\\"q\\\" \\u00", "e9\\n\", \"extra\": [1, {\"}\": 2}], \"score\"", ": 12.5}\n```"])
    assert.strictEqual(got.get("answer"), "a \"q\" é\n")
    assert.strictEqual(got.get("score"), "12.5")
    assert.isFalse(got.has("extra"))
  })

  it.prop(
    "joined deltas decode to each field's value, however the text is split",
    [
      FastCheck.dictionary(FastCheck.constantFrom("answer", "score", "other"), jsonValue),
      FastCheck.constantFrom(0, 2),
      FastCheck.constantFrom("", "Here you go:\n", "```json\n"),
      FastCheck.array(FastCheck.nat(), { maxLength: 12 })
    ],
    ([object, indent, prefix, positions]) => {
      const text = prefix + JSON.stringify(object, null, indent)
      const got = collect(StreamParser.json(["answer", "score"]), cut(text, positions))
      for (const field of ["answer", "score"]) {
        if (!(field in object)) {
          assert.isFalse(got.has(field))
          continue
        }
        const expected = object[field]
        const joined = got.get(field) ?? ""
        if (typeof expected === "string") assert.strictEqual(joined, expected)
        else assert.deepStrictEqual(JSON.parse(joined), expected)
      }
    }
  )
})
