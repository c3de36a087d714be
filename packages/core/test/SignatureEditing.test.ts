import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { DspyError, Signature } from "../src/index.js"

const names = (fields: ReadonlyArray<{ readonly name: string }>) => fields.map((f) => f.name)

describe("Signature editing", () => {
  const QA = Signature.fromString("question, context: list[str] -> answer, confidence: float")

  it("insert places a field at an index on its side; negative indexes count from the end", () => {
    const first = Signature.insert(QA, { role: "input", index: 0, name: "hint", schema: Schema.String })
    assert.deepStrictEqual(names(first.inputFields), ["hint", "question", "context"])
    const middle = Signature.insert(QA, { role: "output", index: 1, name: "source", schema: Schema.String })
    assert.deepStrictEqual(names(middle.outputFields), ["answer", "source", "confidence"])
    const last = Signature.insert(QA, { role: "output", index: -1, name: "source", schema: Schema.String })
    assert.deepStrictEqual(names(last.outputFields), ["answer", "confidence", "source"])
    const beforeLast = Signature.insert(QA, { role: "input", index: -2, name: "hint", schema: Schema.String })
    assert.deepStrictEqual(names(beforeLast.inputFields), ["question", "hint", "context"])
    // types follow: the new field is typed on its side
    const typed: { readonly hint: string; readonly question: string } = Signature.insert(QA, {
      role: "input",
      index: 0,
      name: "hint",
      schema: Schema.String
    }).input.make({ hint: "h", question: "q", context: [] })
    assert.strictEqual(typed.hint, "h")
  })

  it("append and prepend on each side", () => {
    const s1 = Signature.appendOutput(QA, "citations", Schema.Array(Schema.String))
    assert.deepStrictEqual(names(s1.outputFields), ["answer", "confidence", "citations"])
    const s2 = Signature.prependInput(QA, "persona", Schema.String)
    assert.deepStrictEqual(names(s2.inputFields), ["persona", "question", "context"])
    const s3 = Signature.prependOutput(QA, "reasoning", Schema.String)
    assert.deepStrictEqual(names(s3.outputFields), ["reasoning", "answer", "confidence"])
    const s4 = Signature.appendInput(QA, "trajectory", Schema.String)
    assert.deepStrictEqual(names(s4.inputFields), ["question", "context", "trajectory"])
    // the output type carries the new field
    const decoded = Schema.decodeUnknownSync(s1.output)({ answer: "a", confidence: 0.5, citations: ["x"] })
    const citations: ReadonlyArray<string> = decoded.citations
    assert.deepStrictEqual(citations, ["x"])
  })

  it("delete removes a field from either side and keeps the rest in order", () => {
    const noContext = Signature.delete(QA, "context")
    assert.deepStrictEqual(names(noContext.inputFields), ["question"])
    const noConfidence = Signature.delete(noContext, "confidence")
    assert.deepStrictEqual(names(noConfidence.outputFields), ["answer"])
    // @ts-expect-error: not a field of the signature
    assert.throws(() => Signature.delete(QA, "nope"), DspyError.InvalidSignature)
  })

  it("delete of the last output is an InvalidSignature", () => {
    const one = Signature.fromString("question -> answer")
    assert.throws(() => Signature.delete(one, "answer"), DspyError.InvalidSignature)
  })

  it("withUpdatedFields changes a field's type or description in place", () => {
    const numeric = Signature.withUpdatedFields(QA, "answer", { schema: Schema.Number })
    assert.deepStrictEqual(names(numeric.outputFields), ["answer", "confidence"])
    assert.strictEqual(numeric.outputFields[0]!.kind, "json")
    const answer: number = Schema.decodeUnknownSync(numeric.output)({ answer: 4, confidence: 1 }).answer
    assert.strictEqual(answer, 4)
    const described = Signature.withUpdatedFields(QA, "question", { description: "What the user asks" })
    assert.strictEqual(described.inputFields[0]!.description, "What the user asks")
    assert.strictEqual(described.inputFields[0]!.kind, "text")
    const both = Signature.withUpdatedFields(QA, "confidence", { schema: Schema.Number.pipe(Schema.between(0, 1)), description: "0 to 1" })
    assert.strictEqual(both.outputFields[1]!.description, "0 to 1")
    assert.include(both.outputFields[1]!.constraints, "between 0 and 1")
  })

  it("an edit keeps custom instructions and re-derives default ones", () => {
    const custom = Signature.make("Custom", {
      instructions: "Be brief.",
      input: { question: Schema.String },
      output: { answer: Schema.String }
    })
    assert.strictEqual(Signature.appendInput(custom, "hint", Schema.String).instructions, "Be brief.")
    const derived = Signature.appendInput(Signature.fromString("question -> answer"), "hint", Schema.String)
    assert.include(derived.instructions, "`hint`")
  })

  it("a name taken by the other side is an InvalidSignature", () => {
    assert.throws(() => Signature.appendOutput(QA, "question", Schema.String), DspyError.InvalidSignature)
  })
})
