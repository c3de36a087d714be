import type * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as LmConfig from "../LmConfig.js"

/**
 * One call made `n` times (the `n` given, else `LmConfig.n`, else once), each a rollout of its
 * own: rollout ids from the one in force (or 0) up, so that caches keep them apart, and
 * DSPy's temperature of 0.7 when none or a near-greedy one (at most 0.15) is set, so that they
 * differ. The calls run concurrently; `LmConfig.n` is cleared inside, so that no provider is
 * also asked for `n` choices of which one would be read.
 */
export const completions = <A, E, R>(
  n: number | undefined,
  one: Effect.Effect<A, E, R>
): Effect.Effect<Arr.NonEmptyReadonlyArray<A>, E, R> =>
  Effect.flatMap(LmConfig.LmConfig, (config) => {
    const count = Math.max(1, Math.floor(n ?? config.n ?? 1))
    if (count === 1) {
      const single = config.n === undefined ? one : one.pipe(LmConfig.withSettings({ n: undefined }))
      return Effect.map(single, (a): Arr.NonEmptyReadonlyArray<A> => [a])
    }
    const base = config.rolloutId ?? 0
    const temperature = config.temperature === undefined || config.temperature <= 0.15 ? 0.7 : config.temperature
    const rollout = (i: number) => one.pipe(LmConfig.withSettings({ n: undefined, rolloutId: base + i, temperature }))
    return Effect.zipWith(
      rollout(0),
      Effect.forEach(Array.from({ length: count - 1 }, (_, i) => i + 1), rollout, { concurrency: count - 1 }),
      (first, rest): Arr.NonEmptyReadonlyArray<A> => [first, ...rest],
      { concurrent: true }
    )
  })
