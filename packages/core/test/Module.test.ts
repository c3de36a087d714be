import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { Module, Signature } from "../src/index.js"

const QA = Signature.fromString("question -> answer")

const segment = FastCheck.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/)
// A child's predictor paths: `self` (a bare predictor) or dotted paths below it, all distinct.
const childPaths = FastCheck.uniqueArray(
  FastCheck.oneof(FastCheck.constant("self"), FastCheck.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join("."))),
  { maxLength: 6 }
)
const predictorState = FastCheck.record({
  instructions: FastCheck.string(),
  demos: FastCheck.array(FastCheck.dictionary(segment, FastCheck.jsonValue()), { maxLength: 2 })
})
const childPredictors = childPaths.chain((paths) =>
  FastCheck.tuple(...paths.map(() => predictorState)).map((states) =>
    paths.map((path, i): Module.PredictorInfo => ({ path, id: Symbol(path), signature: QA, state: states[i]! }))
  )
)

describe("Module state paths", () => {
  // Law: a parent names its child's predictors `key.path`; the child's sub-state read back
  // from the parent's state is the child's own state.
  it.prop("childState undoes prefixPredictors", [segment, childPredictors], ([key, predictors]) => {
    const parent = Module.stateOf({ predictors: Module.prefixPredictors(key, predictors) })
    assert.deepStrictEqual(Module.childState(parent, key), Module.stateOf({ predictors }))
  })

  // Law: for a state whose paths all belong to child `key`, prefixing the child's sub-state
  // gives the state back.
  it.prop("prefixPredictors undoes childState", [segment, childPredictors], ([key, predictors]) => {
    const state = Module.stateOf({ predictors: Module.prefixPredictors(key, predictors) })
    const child = Module.childState(state, key)
    const back = Module.prefixPredictors(
      key,
      Object.entries(child.predictors).map(([path, s]): Module.PredictorInfo => ({ path, id: Symbol(path), signature: QA, state: s }))
    )
    assert.deepStrictEqual(Module.stateOf({ predictors: back }), state)
  })

  it("a sibling's predictors are not the child's", () => {
    const state = Module.stateOf({
      predictors: [
        ...Module.prefixPredictors("draft", [{ path: "self", id: Symbol(), signature: QA, state: { instructions: "a", demos: [] } }]),
        ...Module.prefixPredictors("drafts", [{ path: "self", id: Symbol(), signature: QA, state: { instructions: "b", demos: [] } }])
      ]
    })
    assert.deepStrictEqual(Module.childState(state, "draft"), { predictors: { self: { instructions: "a", demos: [] } } })
  })
})
