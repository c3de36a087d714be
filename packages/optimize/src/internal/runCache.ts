import { LmCache } from "@effect-dspy/core"
import type * as Effect from "effect/Effect"

/**
 * An optimizer's run behind an in-memory LM cache (`LmCache.ensure`) unless `cache` is `false`:
 * DSPy caches every call, so the prompts a search asks again (the same teacher run for two
 * candidates, a program evaluated twice) are paid for once.
 */
export const withRunCache = (cache: boolean | undefined) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  cache === false ? self : LmCache.ensure()(self)
