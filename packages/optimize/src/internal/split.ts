import type { Example } from "../Example.js"
import { InvalidOptions } from "../OptimizeError.js"
import { rngFor } from "./random.js"

/**
 * The train and validation sets of a search. Without a validation set, the train set is
 * shuffled with the seed and split as MIPROv2 does: 80% (at most 1000) for validation, the rest
 * to train on. Evaluating on the examples the demos came from would reward copying them.
 */
export const trainAndValidation = <I, O>(
  optimizer: string,
  trainset: ReadonlyArray<Example<I, O>>,
  valset: ReadonlyArray<Example<I, O>> | undefined,
  seed: number
): { readonly train: ReadonlyArray<Example<I, O>>; readonly val: ReadonlyArray<Example<I, O>>; readonly split: boolean } | InvalidOptions => {
  if (trainset.length === 0) return new InvalidOptions({ optimizer, reason: "the train set is empty" })
  if (valset !== undefined) {
    if (valset.length === 0) return new InvalidOptions({ optimizer, reason: "the validation set is empty" })
    return { train: trainset, val: valset, split: false }
  }
  if (trainset.length < 2) {
    return new InvalidOptions({
      optimizer,
      reason: "without a validation set the train set is split in two, so it needs 2 examples at least"
    })
  }
  const valSize = Math.min(1000, Math.max(1, Math.floor(trainset.length * 0.8)))
  const shuffled = rngFor(seed, "split").shuffle(trainset)
  return { train: shuffled.slice(valSize), val: shuffled.slice(0, valSize), split: true }
}
