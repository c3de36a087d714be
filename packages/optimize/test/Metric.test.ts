import { assert, describe, it } from "@effect/vitest"
import { Module, Usage } from "@effect-dspy/core"
import { Effect, FastCheck } from "effect"
import { Evaluate, Example, Metric } from "../src/index.js"

const prediction = <O>(output: O) => ({ output, usage: Usage.empty, trace: [] })
const answerOf = (expected: string | ReadonlyArray<string>) =>
  Example.make<{ readonly q: string }, { readonly answer: string | ReadonlyArray<string> }>({ q: "x" }, { answer: expected })
const em = Metric.exactMatch<{ readonly answer: string | ReadonlyArray<string> }>("answer")
const f1 = Metric.f1<{ readonly answer: string | ReadonlyArray<string> }>("answer")

// Words without articles, punctuation or spaces, so that decorating them is the only change.
const word = FastCheck.stringMatching(/^[a-z0-9]{1,8}$/).filter((w) => !["a", "an", "the"].includes(w))
const phrase = FastCheck.array(word, { minLength: 1, maxLength: 6 })

describe("Example", () => {
  it("withInputs splits a flat record into inputs and labels, as DSPy's with_inputs", () => {
    const example = Example.withInputs({ question: "Capital of France?", context: "Europe", answer: "Paris" }, "question", "context")
    assert.deepStrictEqual(Example.inputs(example), { question: "Capital of France?", context: "Europe" })
    assert.deepStrictEqual(Example.labels(example), { answer: "Paris" })
    assert.deepStrictEqual(Example.fields(example), { question: "Capital of France?", context: "Europe", answer: "Paris" })
    const answer: string | undefined = example.expected.answer
    assert.strictEqual(answer, "Paris")
  })
})

describe("Metric", () => {
  it("normalizes as DSPy: case, punctuation, articles and spacing do not count", () => {
    assert.strictEqual(Metric.normalizeText("The,  Eiffel  Tower!"), "eiffel tower")
    assert.isTrue(em(answerOf("Eiffel Tower"), prediction({ answer: "the eiffel tower." })))
    assert.isTrue(em(answerOf("Paris"), prediction({ answer: " paris " })))
    assert.isFalse(em(answerOf("Paris"), prediction({ answer: "Paris, France" })))
    // "a" inside a word is not an article.
    assert.isFalse(em(answerOf("banana"), prediction({ answer: "bnn" })))
  })

  it("normalizes exactly as DSPy's normalize_text, whitespace and Unicode included", () => {
    // Each pair: the input and what DSPy's normalize_text (Python 3) returns for it.
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["a\x1cb", "b"], // U+001C is whitespace to Python's split(), so "a" is a word, an article
      ["x\x85the y", "x y"], // U+0085 too
      ["p\ufeffq", "p\ufeffq"], // U+FEFF is not (JavaScript's \s has it)
      ["Th\u00e9 Caf\u00e9", "\u0301 cafe\u0301"], // NFD: "the" + a combining accent, and the accent is no word character
      ["l'an", "lan"],
      ["Σ Σ ΑΣ", "σ σ ας"],
      ["ǅa the_x 2the", "ǆa thex 2the"]
    ]
    for (const [input, expected] of cases) assert.strictEqual(Metric.normalizeText(input), expected, JSON.stringify(input))
  })

  it("takes a list of gold answers: a match with any counts", () => {
    assert.isTrue(em(answerOf(["Louvre", "Eiffel Tower"]), prediction({ answer: "The Eiffel Tower" })))
    assert.isFalse(em(answerOf(["Louvre", "Orsay"]), prediction({ answer: "Eiffel Tower" })))
    const aliases = Metric.exactMatch<{ readonly answer: string; readonly aliases: ReadonlyArray<string> }>("answer", {
      golds: (example) => [example.expected.answer, ...(example.expected.aliases ?? [])]
    })
    const example = Example.make({ q: "x" }, { answer: "United States", aliases: ["USA", "U.S."] })
    assert.isTrue(aliases(example, prediction({ answer: "us", aliases: [] })))
  })

  it("an example without a gold answer is a mistake in the data (InvalidLabel), not a score of 0", () => {
    const noLabel = Example.make<{ readonly q: string }, { readonly answer: string }>({ q: "x" }, {})
    assert.throws(() => em(answerOf([]), prediction({ answer: "anything" })), /list of gold answers is empty/)
    assert.throws(() => f1(answerOf([]), prediction({ answer: "" })), /list of gold answers is empty/)
    assert.throws(() => Metric.exactMatch<{ readonly answer: string }>("answer")(noLabel, prediction({ answer: "" })), /no expected "answer"/)
    assert.throws(() => Metric.contains<{ readonly answer: string }>("answer")(noLabel, prediction({ answer: "" })), /InvalidLabel|no expected/)
    const aliases = Metric.exactMatch<{ readonly answer: string; readonly aliases: ReadonlyArray<string> }>("answer", {
      golds: (example) => [example.expected.answer, ...(example.expected.aliases ?? [])]
    })
    // An absent answer is not an empty gold that an empty prediction would match.
    assert.throws(() => aliases(Example.make({ q: "x" }, {}), prediction({ answer: "", aliases: [] })), /gold answers is empty/)
    const numeric = Metric.numericTolerance<{ readonly answer: number | string }>("answer", 0)
    assert.throws(() => numeric(Example.make({ q: "x" }, { answer: "n/a" }), prediction({ answer: 0 })), /"answer" \(n\/a\) is not a number/)
    // An empty answer is not the number 0.
    assert.isFalse(numeric(Example.make({ q: "x" }, { answer: 0 }), prediction({ answer: "" })))
    assert.isTrue(numeric(Example.make({ q: "x" }, { answer: "0" }), prediction({ answer: 0 })))
  })

  it.effect("Evaluate records a row without a gold answer as failed, with the reason", () =>
    Effect.gen(function*() {
      const echo: Module.Module<{ readonly q: string }, { readonly answer: string }> = Module.fromFunction(
        (input: { readonly q: string }) => Effect.succeed(prediction({ answer: input.q })),
        { name: "echo", kind: "Module", signature: undefined, predictors: [], withState: () => echo }
      )
      const devset = [Example.make({ q: "yes" }, { answer: "yes" }), Example.make({ q: "no" }, {})]
      const result = yield* Evaluate.run(echo, devset, Metric.exactMatch("answer"))
      assert.strictEqual(result.failed, 1)
      assert.deepStrictEqual(result.rows.map((r) => r.score), [1, 0])
      assert.strictEqual(result.rows[1]!.error, "InvalidLabel: Metric.exactMatch(\"answer\"): the example has no expected \"answer\" to compare with")
    }))

  it.effect("Evaluate's maxFailuresBeforeSuccess stops a run that has not succeeded once, and only such a run", () =>
    Effect.gen(function*() {
      const echo: Module.Module<{ readonly q: string }, { readonly answer: string }> = Module.fromFunction(
        (input: { readonly q: string }) => Effect.succeed(prediction({ answer: input.q })),
        { name: "echo", kind: "Module", signature: undefined, predictors: [], withState: () => echo }
      )
      const devset = Array.from({ length: 20 }, (_, i) => Example.make({ q: String(i) }, { answer: "0" }))
      const failing = (example: Example.Example<{ readonly q: string }, { readonly answer: string }>) => {
        if (example.input.q !== "0") throw new Error("no")
        return true
      }
      const hopeless = yield* Evaluate.run(echo, devset.slice(1), failing, { concurrency: 1, maxFailuresBeforeSuccess: 3 })
      assert.deepStrictEqual([hopeless.failed, hopeless.notAttempted], [4, 15])
      const once = yield* Evaluate.run(echo, devset, failing, { concurrency: 1, maxFailuresBeforeSuccess: 3 })
      assert.deepStrictEqual([once.failed, once.notAttempted], [19, 0])
    }))

  it("token F1 is the best over the golds (SQuAD's)", () => {
    assert.closeTo(f1(answerOf("Paris"), prediction({ answer: "Eiffel Tower is in Paris" })), 1 / 3, 1e-12)
    assert.strictEqual(f1(answerOf(["Paris", "Eiffel Tower"]), prediction({ answer: "the Eiffel tower" })), 1)
    assert.strictEqual(f1(answerOf("Paris"), prediction({ answer: "London" })), 0)
    assert.strictEqual(Metric.tokenF1("", ""), 0)
  })

  it.prop("exact match is invariant under case, punctuation, articles and spacing", [phrase, FastCheck.integer({ min: 0, max: 2 ** 31 })], ([words, seed]) => {
    const decorations = ["The ", "the ", "A ", "an ", "  ", "\t"]
    const decorated = words.map((w, i) => {
      const pick = (seed >>> i) % 4
      const cased = pick === 0 ? w.toUpperCase() : pick === 1 ? w[0]!.toUpperCase() + w.slice(1) : w
      return `${decorations[(seed >>> (i + 3)) % decorations.length]}${cased}${pick === 2 ? "," : pick === 3 ? "!" : ""}`
    }).join(" ")
    assert.isTrue(em(answerOf(words.join(" ")), prediction({ answer: decorated })))
    assert.strictEqual(f1(answerOf(words.join(" ")), prediction({ answer: decorated })), 1)
  })

  it.prop("F1 is 1 on identical texts, symmetric, and within [0, 1]", [phrase, phrase], ([a, b]) => {
    const x = a.join(" ")
    const y = b.join(" ")
    assert.strictEqual(Metric.tokenF1(x, x), 1)
    assert.closeTo(Metric.tokenF1(x, y), Metric.tokenF1(y, x), 1e-12)
    const score = Metric.tokenF1(x, y)
    assert.isAtLeast(score, 0)
    assert.isAtMost(score, 1)
  })

  it.effect("a metric may return a score with feedback; Evaluate keeps the feedback, and a non-finite score counts as a failure", () =>
    Effect.gen(function*() {
      const echo: Module.Module<{ readonly q: string }, { readonly answer: string }> = Module.fromFunction(
        (input: { readonly q: string }) => Effect.succeed(prediction({ answer: input.q })),
        { name: "echo", kind: "Module", signature: undefined, predictors: [], withState: () => echo }
      )
      const program = echo
      const devset = [Example.make({ q: "yes" }, { answer: "yes" }), Example.make({ q: "no" }, { answer: "yes" })]
      const withFeedback: Metric.Metric<{ readonly q: string }, { readonly answer: string }> = (example, p) =>
        p.output.answer === example.expected.answer ? Metric.withFeedback(1, "right") : Metric.withFeedback(0, "say yes")
      const result = yield* Evaluate.run(program, devset, withFeedback)
      assert.deepStrictEqual(result.rows.map((r) => [r.score, r.feedback]), [[1, "right"], [0, "say yes"]])
      const nan = yield* Evaluate.run(program, devset, () => Number.NaN)
      assert.strictEqual(nan.failed, 2)
      assert.include(nan.rows[0]!.error!, "not a finite number")
    }))
})
