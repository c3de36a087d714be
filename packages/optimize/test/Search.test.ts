import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import * as Pareto from "../src/internal/pareto.js"
import { makeRng } from "../src/internal/random.js"
import * as Tpe from "../src/internal/tpe.js"

const space: Tpe.Space = [{ name: "instruction", size: 5 }, { name: "demos", size: 4 }]

describe("TPE (categorical, multivariate)", () => {
  it("each group's density is a probability distribution over whole choices", () => {
    const observed = [[1, 2], [1, 3], [4, 0]]
    const density = Tpe.parzen(space, observed, 1)
    let total = 0
    for (let a = 0; a < 5; a++) for (let b = 0; b < 4; b++) total += density.probability([a, b])
    assert.closeTo(total, 1, 1e-12)
    // Observed choices weigh more than unobserved ones.
    assert.isAbove(density.probability([1, 2]), density.probability([0, 1]))
  })

  it.prop("sampling the density follows its probabilities", [FastCheck.integer({ min: 1, max: 2 ** 31 })], ([seed]) => {
    const density = Tpe.parzen(space, [[1, 2]], 1)
    const rng = makeRng(seed)
    let hits = 0
    for (let i = 0; i < 4000; i++) {
      const [a, b] = density.sample(rng)
      if (a === 1 && b === 2) hits++
    }
    assert.closeTo(hits / 4000, density.probability([1, 2]), 0.04)
  }, { fastCheck: { numRuns: 5 } })

  it("good and bad groups: the best tenth (at least one), ties in arrival order", () => {
    const observations = Array.from({ length: 20 }, (_, i) => ({ choice: [i % 5, i % 4], score: i === 7 || i === 3 ? 1 : 0 }))
    const { bad, good } = Tpe.splitObservations(observations, Tpe.defaultGamma)
    assert.deepStrictEqual(good, [[3, 3], [2, 3]])
    assert.strictEqual(bad.length, 18)
  })

  it("is uniform during the startup trials and deterministic under a seed", () => {
    const a = Tpe.suggest(space, [], makeRng(1), { startupTrials: 3 })
    const b = Tpe.suggest(space, [], makeRng(1), { startupTrials: 3 })
    assert.deepStrictEqual(a, b)
    const counts = new Map<string, number>()
    const rng = makeRng(2)
    for (let i = 0; i < 2000; i++) {
      const key = Tpe.suggest(space, [], rng).join(",")
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    assert.strictEqual(counts.size, 20)
  })

  it("edge cases: a parameter with one choice, every score equal, no observations past the startup", () => {
    const narrow: Tpe.Space = [{ name: "instruction", size: 1 }, { name: "demos", size: 3 }]
    const rng = makeRng(5)
    const flat = Array.from({ length: 12 }, (_, i) => ({ choice: [0, i % 3], score: 0.5 }))
    for (let i = 0; i < 50; i++) {
      const choice = Tpe.suggest(narrow, flat, rng, { startupTrials: 2 })
      assert.strictEqual(choice[0], 0)
      assert.isTrue(Number.isInteger(choice[1]) && choice[1]! >= 0 && choice[1]! < 3)
    }
    // With every score equal the split still has one good trial, and the densities stay proper.
    const { bad, good } = Tpe.splitObservations(flat, Tpe.defaultGamma)
    assert.deepStrictEqual([good.length, bad.length], [2, 10])
    assert.isTrue(Number.isFinite(Tpe.parzen(narrow, [], 1).probability([0, 2])))
    assert.deepStrictEqual(Tpe.suggest(narrow, [], makeRng(1), { startupTrials: 0 }).length, 2)
  })

  it("concentrates on the choice that scores well, including an interaction of two parameters", () => {
    // The objective: 1 only for instruction 3 together with demos 1; noise elsewhere.
    const objective = (choice: ReadonlyArray<number>, rng: ReturnType<typeof makeRng>) =>
      choice[0] === 3 && choice[1] === 1 ? 1 : 0.2 * rng.next()
    let tpeHits = 0
    let randomHits = 0
    for (let seed = 1; seed <= 20; seed++) {
      const rng = makeRng(seed)
      const observations: Array<Tpe.Observation> = []
      for (let t = 0; t < 25; t++) {
        const choice = Tpe.suggest(space, observations, rng, { startupTrials: 6 })
        observations.push({ choice, score: objective(choice, rng) })
      }
      tpeHits += observations.slice(6).filter((o) => o.score === 1).length
      const random = makeRng(seed + 1000)
      for (let t = 0; t < 19; t++) if (objective([random.int(5), random.int(4)], random) === 1) randomHits++
    }
    // Seeds 1-20: random search hits the 1-in-20 optimum 22 of 380 times, the model 108.
    assert.isAbove(randomHits, 5)
    assert.isAbove(tpeHits, 4 * randomHits)
  })
})

describe("Pareto front and merge (GEPA)", () => {
  // Rows: candidates; columns: validation examples.
  const scores = [
    [1, 0, 0, 1],
    [1, 1, 0, 0],
    [0, 0, 1, 1],
    [1, 0, 0, 0]
  ]

  it("keeps the candidates best on some example, dropping those another always matches", () => {
    assert.deepStrictEqual(Pareto.bestPerExample(scores), [[0, 1, 3], [1], [2], [0, 2]])
    // Candidate 3 is best only where 0 and 1 are too; 0 is covered by 1 and 2 once 3 is gone.
    assert.deepStrictEqual(Pareto.nonDominated(scores), [1, 2])
  })

  it.effect("draws a parent from the front in proportion to the examples it is best on", () =>
    Effect.sync(() => {
      const rng = makeRng(3)
      const drawn = new Map<number, number>()
      for (let i = 0; i < 3000; i++) {
        const c = Pareto.selectFromFront(scores, rng)
        drawn.set(c, (drawn.get(c) ?? 0) + 1)
      }
      assert.deepStrictEqual([...drawn.keys()].sort(), [1, 2])
      // 1 is best on examples 0 and 1, 2 on examples 2 and 3: even odds.
      assert.closeTo(drawn.get(1)! / 3000, 0.5, 0.05)
    }))

  it("ties of mean score go to the earliest candidate", () => {
    assert.strictEqual(Pareto.bestByMean([[1, 0], [0, 1], [1, 0]]), 0)
  })

  it("merges two descendants of a common ancestor, each predictor from the side that changed it", () => {
    const pool: Array<Pareto.Lineage> = [
      { instructions: { a: "a0", b: "b0" }, parents: [] },
      { instructions: { a: "a1", b: "b0" }, parents: [0] },
      { instructions: { a: "a0", b: "b1" }, parents: [0] }
    ]
    const poolScores = [[0, 0], [1, 0], [0, 1]]
    const merge = Pareto.findMerge(pool, poolScores, new Set(), makeRng(1))!
    assert.deepStrictEqual(merge.instructions, { a: "a1", b: "b1" })
    assert.strictEqual(merge.ancestor, 0)
    // The same merge is not offered twice, nor one equal to a candidate already in the pool.
    assert.isUndefined(Pareto.findMerge(pool, poolScores, new Set([merge.key]), makeRng(1)))
    assert.isUndefined(
      Pareto.findMerge([...pool, { instructions: { a: "a1", b: "b1" }, parents: [1, 2] }], [...poolScores, [0.5, 0.5]], new Set(), makeRng(1))
    )
  })

  it("judges a merge where its two sides differ first", () => {
    const picked = Pareto.mergeSubsample([1, 0, 1, 1, 0, 0, 1], [0, 1, 1, 1, 0, 1, 0], 4, makeRng(2))
    assert.strictEqual(picked.length, 4)
    assert.deepStrictEqual(picked, [0, 1, 5, 6])
  })
})
