// A Tree-structured Parzen Estimator over categorical choices, the Bayesian search MIPROv2 runs
// (through Optuna's `TPESampler(multivariate=True)`). No maintained TypeScript package samples
// categorical spaces this way (checked on npm, 2026-12: `hyperparameters` 0.25, a hyperopt port,
// has grid and random search only; nothing else implements TPE), so it is written here, small
// and tested (test/Search.test.ts).
//
// How it works: past trials are split into the best few ("good", a fraction gamma of them) and
// the rest ("bad"). Each group gives a density over whole choices (multivariate: a mixture of
// one kernel per trial plus a uniform prior, each kernel a product over the parameters that
// leans towards that trial's values). Candidates are drawn from the good density, and the one
// with the highest ratio good/bad is suggested: choices that scored well, and that did not also
// score badly, are tried more. The first `startupTrials` suggestions are uniform.
import type { Rng } from "./random.js"

/** A categorical search space: one parameter per entry, with `size` choices each. */
export type Space = ReadonlyArray<{ readonly name: string; readonly size: number }>

/** A scored trial: an index per parameter. */
export interface Observation {
  readonly choice: ReadonlyArray<number>
  readonly score: number
}

export interface Options {
  /** Trials (observations) before the model is used; until then suggestions are uniform (default 10). */
  readonly startupTrials?: number | undefined
  /** Candidates drawn from the good density per suggestion (default 24, as Optuna). */
  readonly candidates?: number | undefined
  /** Weight of the uniform prior in each density (default 1, as Optuna). */
  readonly priorWeight?: number | undefined
  /** How many of `n` trials are "good" (default Optuna's: ceil(n / 10), at most 25). */
  readonly gamma?: ((n: number) => number) | undefined
}

/** Optuna's default split: the best tenth of the trials, at most 25, at least one. */
export const defaultGamma = (n: number): number => Math.max(1, Math.min(Math.ceil(0.1 * n), 25))

/** A mixture density over whole choices built from some observations. */
export interface Density {
  readonly probability: (choice: ReadonlyArray<number>) => number
  readonly sample: (rng: Rng) => Array<number>
}

/**
 * The Parzen density of a group of observations: one kernel per observation (weight 1) and a
 * uniform prior (weight `priorWeight`). A kernel gives each parameter's observed value weight
 * 1 + priorWeight / kernels and every other value priorWeight / kernels (Optuna's categorical
 * kernel), normalized; over several parameters it is their product.
 */
export const parzen = (space: Space, group: ReadonlyArray<ReadonlyArray<number>>, priorWeight: number): Density => {
  const kernels = group.length + 1
  const base = priorWeight / kernels
  // Probability of value v of parameter p under the kernel of `observed`.
  const kernel = (p: number, observed: number, v: number) => {
    const size = space[p]!.size
    return ((v === observed ? 1 : 0) + base) / (1 + base * size)
  }
  const total = group.length + priorWeight
  const probability = (choice: ReadonlyArray<number>): number => {
    let sum = priorWeight * space.reduce((product, param) => product / param.size, 1)
    for (const observed of group) {
      let product = 1
      for (let p = 0; p < space.length; p++) product *= kernel(p, observed[p]!, choice[p]!)
      sum += product
    }
    return sum / total
  }
  const sample = (rng: Rng): Array<number> => {
    // Pick a component in proportion to its weight, then each parameter from it.
    const r = rng.next() * total
    const component = r < group.length ? group[Math.floor(r)] : undefined
    return space.map((param, p) => {
      if (component === undefined) return rng.int(param.size)
      let u = rng.next()
      for (let v = 0; v < param.size; v++) {
        u -= kernel(p, component[p]!, v)
        if (u < 0) return v
      }
      return param.size - 1
    })
  }
  return { probability, sample }
}

/** The good and bad groups of observations: best first, ties kept in the order they came. */
export const splitObservations = (
  observations: ReadonlyArray<Observation>,
  gamma: (n: number) => number
): { readonly good: Array<ReadonlyArray<number>>; readonly bad: Array<ReadonlyArray<number>> } => {
  const ranked = observations.map((o, i) => ({ o, i })).sort((a, b) => b.o.score - a.o.score || a.i - b.i)
  const nGood = Math.min(ranked.length, gamma(ranked.length))
  return {
    good: ranked.slice(0, nGood).map((r) => r.o.choice),
    bad: ranked.slice(nGood).map((r) => r.o.choice)
  }
}

/** The next choice to try, given what was tried and how it scored. */
export const suggest = (
  space: Space,
  observations: ReadonlyArray<Observation>,
  rng: Rng,
  options: Options = {}
): Array<number> => {
  const startup = options.startupTrials ?? 10
  if (observations.length < startup || space.length === 0) return space.map((param) => rng.int(param.size))
  const priorWeight = options.priorWeight ?? 1
  const { bad, good } = splitObservations(observations, options.gamma ?? defaultGamma)
  const l = parzen(space, good, priorWeight)
  const g = parzen(space, bad, priorWeight)
  let best: Array<number> = []
  let bestRatio = Number.NEGATIVE_INFINITY
  for (let i = 0; i < Math.max(1, options.candidates ?? 24); i++) {
    const candidate = l.sample(rng)
    const ratio = Math.log(l.probability(candidate)) - Math.log(g.probability(candidate))
    if (ratio > bestRatio) {
      bestRatio = ratio
      best = candidate
    }
  }
  return best
}
