/**
 * `LabeledFewShot`: installs k labelled examples from the train set as demos in every
 * predictor of a program (each predictor takes the fields its signature has).
 *
 * @since 0.1.0
 */
import { type Demo, EventBus, type Module } from "@effect-dspy/core"
import * as Effect from "effect/Effect"
import type { Example } from "./Example.js"
import { fieldsOf, Misfits, withDemos } from "./internal/demos.js"
import { makeRng } from "./internal/random.js"

/**
 * Options of `compile`.
 *
 * @since 0.1.0
 */
export interface Options {
  /** How many demos per predictor (default 16). */
  readonly k?: number | undefined
  /** Sample the k examples at random with this seed; without it, take the first k. */
  readonly seed?: number | undefined
}

/**
 * Returns the program with labelled demos.
 *
 * @example
 * ```ts
 * import { Predict, Signature } from "@effect-dspy/core"
 * import { Example, LabeledFewShot } from "@effect-dspy/optimize"
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const compiled = LabeledFewShot.compile(qa, [Example.make({ question: "2+2?" }, { answer: "4" })], { k: 4 })
 * ```
 *
 * @since 0.1.0
 */
export const compile = <I, O, E, R>(
  student: Module.Module<I, O, E, R>,
  trainset: ReadonlyArray<Example<NoInfer<I>, NoInfer<O>>>,
  options: Options = {}
): Effect.Effect<Module.Module<I, O, E, R>> =>
  Effect.gen(function*() {
    const k = options.k ?? 16
    const indexes = trainset.map((_, index) => index)
    const chosen = options.seed === undefined ? indexes.slice(0, k) : makeRng(options.seed).sample(indexes, k)
    const demos = new Map<string, ReadonlyArray<Demo.Encoded>>()
    const misfits = new Misfits()
    for (const predictor of student.predictors) {
      const list: Array<Demo.Encoded> = []
      for (const index of chosen) {
        const demo = misfits.demo(predictor.path, predictor.signature, fieldsOf(trainset[index]!), index)
        if (demo !== undefined) list.push(demo)
      }
      demos.set(predictor.path, list)
    }
    yield* misfits.warn("LabeledFewShot")
    yield* EventBus.publish({
      type: "optimization.labeled.end",
      optimizer: "LabeledFewShot",
      data: { demos: Object.fromEntries([...demos].map(([path, list]) => [path, list.length])) }
    })
    return student.withState(withDemos(student, demos))
  })
