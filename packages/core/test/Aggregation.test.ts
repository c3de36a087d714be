import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema, TestClock } from "effect"
import { Aggregation, ChainOfThought, DspyError, KNN, MultiChainComparison, Predict, Signature } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

describe("Aggregation.majority", () => {
  it("votes on the last field after DSPy's normalization; the first completion with the winner is returned", () => {
    const winner = Aggregation.majority([
      { reasoning: "r1", answer: "Lyon" },
      { reasoning: "r2", answer: "The Paris!" },
      { reasoning: "r3", answer: "paris" }
    ])
    assert.deepStrictEqual(winner, { reasoning: "r2", answer: "The Paris!" })
  })

  it("a tie goes to the value seen first", () => {
    const winner = Aggregation.majority([{ answer: "b" }, { answer: "a" }, { answer: "a" }, { answer: "b" }])
    assert.strictEqual(winner.answer, "b")
  })

  it("empty values are left out unless all are empty; another field and normalization can be chosen", () => {
    assert.strictEqual(Aggregation.majority([{ answer: "" }, { answer: "x" }, { answer: " " }]).answer, "x")
    assert.strictEqual(Aggregation.majority([{ answer: "" }, { answer: "" }]).answer, "")
    const byTeam = Aggregation.majority(
      [{ team: "Tech", answer: "1" }, { team: "tech", answer: "2" }, { team: "Tech", answer: "3" }],
      { field: "team", normalize: null }
    )
    assert.strictEqual(byTeam.answer, "1")
    // non-text values vote by their JSON text
    assert.strictEqual(Aggregation.majority([{ n: 1 }, { n: 2 }, { n: 2 }]).n, 2)
  })

  it("normalizeText is DSPy's", () => {
    assert.strictEqual(Aggregation.normalizeText("  The  Eiffel,\tTower! "), "eiffel tower")
    assert.strictEqual(Aggregation.normalizeText("An apple a day"), "apple day")
  })
})

describe("MultiChainComparison", () => {
  const QA = Signature.fromString("question -> answer")

  it.effect("shows each attempt's reasoning and answer, and returns the rationale with the outputs", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ rationale: "Two of three say 4, and 2+2 is 4.", answer: "4" }))
      const compare = MultiChainComparison.make(QA, { m: 3 })
      const prediction = yield* compare({
        question: "What is 2+2?",
        completions: [
          { reasoning: "add two and two\nmore lines", answer: "4" },
          { reasoning: "guess", answer: "5" },
          { rationale: "count on fingers", answer: "4\nextra" }
        ]
      }).pipe(Effect.provide(lm.layer))
      assert.deepStrictEqual(prediction.output, { rationale: "Two of three say 4, and 2+2 is 4.", answer: "4" })
      const user = ScriptedLm.inputsOf(ScriptedLm.lastUserText(lm.counters.prompts[0]!))
      assert.strictEqual(user["reasoning_attempt_1"], "«I'm trying to add two and two I'm not sure but my prediction is 4»")
      assert.strictEqual(user["reasoning_attempt_2"], "«I'm trying to guess I'm not sure but my prediction is 5»")
      assert.strictEqual(user["reasoning_attempt_3"], "«I'm trying to count on fingers I'm not sure but my prediction is 4»")
      // the rationale is asked for before the answer
      const system = ScriptedLm.systemText(lm.counters.prompts[0]!)
      assert.isBelow(system.indexOf("[[ ## rationale ## ]]"), system.indexOf("[[ ## answer ## ]]"))
      assert.strictEqual(compare.predictors.length, 1)
    }))

  it.effect("with other than m attempts, fails with InvalidInput before any call", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => "unused")
      const compare = MultiChainComparison.make(QA, { m: 3 })
      const exit = yield* Effect.exit(compare({ question: "q", completions: [{ answer: "1" }] }).pipe(Effect.provide(lm.layer)))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        assert.instanceOf(error, DspyError.InvalidInput)
        assert.strictEqual((error as DspyError.InvalidInput).field, "completions")
      }
      assert.strictEqual(lm.counters.calls, 0)
    }))

  it.effect("compares a ChainOfThought's completions", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((_prompt, call) =>
        call <= 3
          ? ScriptedLm.reply({ reasoning: `attempt ${call}`, answer: call === 2 ? "5" : "4" })
          : ScriptedLm.reply({ rationale: "most say 4", answer: "4" })
      )
      const think = ChainOfThought.make(QA)
      const compare = MultiChainComparison.make(QA, { m: 3 })
      const output = yield* Effect.gen(function*() {
        const attempts = yield* Effect.all([think({ question: "2+2" }), think({ question: "2+2" }), think({ question: "2+2" })])
        return (yield* compare({ question: "2+2", completions: attempts.map((p) => p.output) })).output
      }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(output.answer, "4")
      assert.strictEqual(lm.counters.calls, 4)
    }))
})

describe("KNN", () => {
  const QA = Signature.make("QA", { input: { question: Schema.String }, output: { answer: Schema.String } })
  // Each text as counts of a few marker words: a deterministic embedding for tests.
  const words = ["capital", "plus", "color", "france", "italy"]
  let embedded: Array<ReadonlyArray<string>> = []
  const embed = (texts: ReadonlyArray<string>) =>
    Effect.sync(() => {
      embedded.push(texts)
      return texts.map((text) => words.map((w) => text.toLowerCase().split(w).length - 1))
    })
  const trainset = [
    { question: "What is the capital of France?", answer: "Paris" },
    { question: "What is 2 plus 2?", answer: "4" },
    { question: "What color is the sky?", answer: "blue" },
    { question: "What is the capital of Italy?", answer: "Rome" }
  ]

  it.effect("the retriever returns the k nearest examples, most similar first; the training set is embedded once", () =>
    Effect.gen(function*() {
      embedded = []
      const knn = KNN.retriever(QA, { k: 2, trainset, embed })
      const nearest = yield* knn.nearest({ question: "The capital of Italy, please" })
      assert.deepStrictEqual(nearest.map((d) => d["answer"]), ["Rome", "Paris"])
      yield* knn.nearest({ question: "3 plus 4" })
      assert.strictEqual(embedded.length, 3)
      assert.strictEqual(embedded[0]!.length, 4)
      assert.strictEqual(embedded[0]![0], "question: What is the capital of France?")
    }))

  it.effect("concurrent first calls wait for one embedding of the training set", () =>
    Effect.gen(function*() {
      embedded = []
      // an embedding that takes a moment (on the TestClock), so that the first calls overlap
      const slowEmbed = (texts: ReadonlyArray<string>) => Effect.zipRight(Effect.sleep("1 second"), embed(texts))
      const knn = KNN.retriever(QA, { k: 1, trainset, embed: slowEmbed })
      const fiber = yield* Effect.fork(Effect.all(
        Array.from({ length: 5 }, () => knn.nearest({ question: "The capital of Italy, please" })),
        { concurrency: "unbounded" }
      ))
      yield* TestClock.adjust("10 seconds")
      const results = yield* Fiber.join(fiber)
      assert.deepStrictEqual(results.map((r) => r.map((d) => d["answer"])), Array.from({ length: 5 }, () => ["Rome"]))
      assert.strictEqual(embedded.filter((texts) => texts.length === trainset.length).length, 1)
      assert.strictEqual(embedded.length, 6)
    }))

  it.effect("a KNN predictor shows the nearest examples as demos, and its trace names the predictor", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "7" }))
      const qa = KNN.make(Predict.make(QA), { k: 1, trainset, embed })
      const prediction = yield* qa({ question: "3 plus 4?" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(prediction.output.answer, "7")
      const prompt = lm.counters.prompts[0]!
      // system, one demo (user + assistant), the question
      assert.strictEqual(prompt.content.length, 4)
      assert.include(ScriptedLm.lastUserText(prompt), "3 plus 4?")
      const demoUser = prompt.content[1]!
      assert.include(demoUser.role === "user" ? JSON.stringify(demoUser.content) : "", "2 plus 2")
      assert.strictEqual(prediction.trace[0]!.predictorId, qa.predictors[0]!.id)
    }))

  it.effect("vectors that cannot be compared are an InvalidEmbedding", () =>
    Effect.gen(function*() {
      const bad = KNN.retriever(QA, { k: 1, trainset, embed: (texts) => Effect.succeed(texts.slice(1).map(() => [1])) })
      const error = yield* Effect.flip(bad.nearest({ question: "x" }))
      assert.instanceOf(error, DspyError.InvalidEmbedding)
      const ragged = KNN.retriever(QA, { k: 1, trainset, embed: (texts) => Effect.succeed(texts.map((_, i) => Array(i + 1).fill(1))) })
      assert.instanceOf(yield* Effect.flip(ragged.nearest({ question: "x" })), DspyError.InvalidEmbedding)
    }))
})
