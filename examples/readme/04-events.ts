import { EventBus, Predict, Signature } from "@effect-dspy/core"
import { Console, Effect } from "effect"

const qa = Predict.make(Signature.fromString("question -> answer"))

// Subscribe by pattern: "lm.*", "module.*", "tool.*", "parse.*", or "*". A slow or failing
// subscriber never blocks the program: each has a bounded buffer that drops the oldest.
export const program = Effect.gen(function*() {
  yield* EventBus.on("lm.end", (event) =>
    event.type === "lm.end" ? Console.log(`${event.module}: ${event.durationMillis} ms, ${event.usage.totalTokens} tokens`) : Effect.void
  )
  yield* qa({ question: "What is the capital of France?" })
}).pipe(Effect.scoped, Effect.provide(EventBus.layer))
