import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Exit, FastCheck, Schema } from "effect"
import { ChainOfThought, DspyError, Module, Predict, ProgramState, Signature } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const Classify = Signature.make("Classify", {
  input: { text: Schema.String },
  output: { label: Schema.Literal("billing", "bug", "other"), confidence: Schema.Finite }
})
const Summarize = Signature.fromString("text -> summary")

const program = Module.make(
  { name: "Triage", submodules: { classify: Predict.make(Classify), summarize: ChainOfThought.make(Summarize) } },
  ({ classify, summarize }, input: { readonly text: string }) =>
    Effect.gen(function*() {
      const c = yield* classify(input)
      const s = yield* summarize(input)
      return { ...c.output, summary: s.output.summary }
    })
)

// Demos in their encoded (saved) form: any subset of each signature's fields.
const ClassifyDemos = Schema.Array(Schema.partial(Schema.Struct({
  text: Schema.String,
  label: Schema.Literal("billing", "bug", "other"),
  confidence: Schema.Finite
})))
const SummarizeDemos = Schema.Array(Schema.partial(Schema.Struct({
  text: Schema.String,
  reasoning: Schema.String,
  summary: Schema.String
})))

const DemoArb = Arbitrary.make(
  Schema.Array(Schema.Struct({ text: Schema.String, label: Schema.Literal("billing", "bug", "other"), confidence: Schema.Finite }))
)

describe("ProgramState", () => {
  it("names every predictor of a composed program", () => {
    assert.deepStrictEqual(program.predictors.map((p) => p.path), ["classify", "summarize"])
  })

  // Law: loading what was saved gives back the same state, for any demos and instructions.
  it.effect.prop(
    "save then load is the identity",
    {
      classifyDemos: ClassifyDemos,
      summarizeDemos: SummarizeDemos,
      classify: Schema.String,
      summarize: Schema.String
    },
    ({ classify, classifyDemos, summarize, summarizeDemos }) =>
      Effect.gen(function*() {
        const tuned = program.withState({
          predictors: {
            classify: { instructions: classify, demos: classifyDemos },
            summarize: { instructions: summarize, demos: summarizeDemos }
          }
        })
        const saved = ProgramState.save(tuned)
        const restored = yield* ProgramState.load(program, saved)
        assert.deepStrictEqual(ProgramState.save(restored), saved)
        assert.deepStrictEqual(Module.stateOf(restored), Module.stateOf(tuned))
      }),
    // each run checks every demo against its signature's Schema
    { fastCheck: { numRuns: 40 } }
  )

  it.effect("save/load round-trips arbitrary demo sets and instructions", () =>
    Effect.gen(function*() {
      const samples = FastCheck.sample(FastCheck.tuple(DemoArb, FastCheck.string()), 50)
      for (const [demos, instructions] of samples) {
        const tuned = program.withState({
          predictors: { classify: { instructions, demos: demos.map((d) => ({ ...d })) } }
        })
        const json = ProgramState.toJson(tuned)
        const restored = yield* ProgramState.load(program, json)
        assert.deepStrictEqual(ProgramState.save(restored), JSON.parse(json))
      }
    }))

  it.effect("a loaded program prompts with the loaded demos and instructions", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((prompt) =>
        ScriptedLm.systemText(prompt).includes("`label`")
          ? ScriptedLm.reply({ label: "bug", confidence: 0.9 })
          : ScriptedLm.reply({ reasoning: "r", summary: "s" })
      )
      const state = {
        version: 1,
        predictors: {
          classify: {
            signature: "Classify",
            instructions: "Label support tickets.",
            demos: [{ text: "app crashes", label: "bug", confidence: 1 }]
          }
        }
      }
      const loaded = yield* ProgramState.load(program, JSON.stringify(state))
      const result = yield* loaded({ text: "I was charged twice" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(result.output.label, "bug")
      const first = lm.counters.prompts[0]!
      assert.include(ScriptedLm.systemText(first), "Label support tickets.")
      assert.strictEqual(first.content.length, 4)
    }))

  it.effect("rejects state that does not fit the program", () =>
    Effect.gen(function*() {
      const cases: Array<unknown> = [
        "{not json",
        { version: 3, predictors: {} },
        { version: 1, predictors: { nope: { signature: "Classify", instructions: "", demos: [] } } },
        { version: 1, predictors: { classify: { signature: "Other", instructions: "", demos: [] } } },
        { version: 1, predictors: { classify: { signature: "Classify", instructions: "", demos: [{ label: "nope" }] } } },
        { version: 1, predictors: { classify: { signature: "Classify", instructions: "", demos: [{ extra: 1 }] } } }
      ]
      for (const bad of cases) {
        const exit = yield* Effect.exit(ProgramState.load(program, bad))
        assert.isTrue(Exit.isFailure(exit), JSON.stringify(bad))
      }
    }))

  it.effect("state is keyed by path and field names: editing a shorthand's text keeps it loadable", () =>
    Effect.gen(function*() {
      const before = Predict.make(Signature.fromString("question -> answer"), { instructions: "Be brief." })
      const saved = ProgramState.save(before)
      assert.deepInclude(saved.predictors["self"]!, { inputs: ["question"], outputs: ["answer"] })
      // another display name (the shorthand's text), the same fields
      const after = Predict.make(Signature.fromString("question: str -> answer: str"))
      const loaded = yield* ProgramState.load(after, ProgramState.toJson(before))
      assert.strictEqual(loaded.predictors[0]!.state.instructions, "Be brief.")
    }))

  it.effect("a state for other fields fails with StateMismatch naming what differs", () =>
    Effect.gen(function*() {
      const saved = ProgramState.toJson(Predict.make(Signature.fromString("question, context -> answer")))
      const other = Predict.make(Signature.fromString("question, hint -> answer, confidence: float"))
      const error = yield* Effect.flip(ProgramState.load(other, saved))
      assert.instanceOf(error, DspyError.StateMismatch)
      if (error instanceof DspyError.StateMismatch) {
        assert.deepInclude(error, {
          predictor: "self",
          missingInputs: ["hint"],
          extraInputs: ["context"],
          missingOutputs: ["confidence"],
          extraOutputs: []
        })
        assert.include(error.message, "the state lacks the input(s) \"hint\"")
        assert.include(error.message, "the program lacks the input(s) \"context\"")
      }
      // the order of fields does not matter
      const reordered = Predict.make(Signature.fromString("context, question -> answer"))
      yield* ProgramState.load(reordered, saved)
    }))

  it.effect("version 1 states (keyed by signature name) still load", () =>
    Effect.gen(function*() {
      const v1 = {
        version: 1,
        predictors: { classify: { signature: "Classify", instructions: "Old.", demos: [] } }
      }
      const loaded = yield* ProgramState.load(program, v1)
      assert.strictEqual(loaded.predictors[0]!.state.instructions, "Old.")
    }))
})
