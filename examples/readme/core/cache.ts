import { LmCache, Predict, Signature } from "@effect-dspy/core"
import { NodeContext } from "@effect/platform-node"
import { Simulator } from "@effect-dspy/simulator"
import { Effect, Layer } from "effect"

const qa = Predict.make(Signature.fromString("question -> answer"))

// Any LanguageModel behind a cache kept in .cache/lm (and in memory): the second call, and
// every call of the next run of this program, costs nothing.
const model = LmCache.layerFileSystem(".cache/lm").pipe(Layer.provide([Simulator.layer(), NodeContext.layer]))

export const program = Effect.gen(function*() {
  yield* qa({ question: "What is the capital of France?" })
  yield* qa({ question: "What is the capital of France?" }) // from the cache
  const cache = yield* LmCache.LmCache
  return yield* cache.stats // { memoryHits: 1, misses: 1, ... }
}).pipe(Effect.provide(model))
