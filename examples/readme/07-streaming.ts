import { NodeRuntime } from "@effect/platform-node"
import { ChainOfThought, Conversation, Signature, StreamPredict } from "@effect-dspy/core"
import { SimulatorProvider } from "@effect-dspy/simulator"
import { Console, Effect, Stream } from "effect"

const write = (text: string) => Effect.sync(() => process.stdout.write(text))

const explain = ChainOfThought.make(Signature.fromString("topic -> explanation"))

const program = Effect.gen(function*() {
  // Any module streams: raw token deltas, deltas per output field, then the typed prediction.
  yield* StreamPredict.stream(explain, { topic: "why espresso has crema" }).pipe(
    Stream.runForEach((event) =>
      event._tag === "FieldDelta" && event.field === "explanation"
        ? write(event.delta)
        : event._tag === "Final"
        ? Console.log(`\n(${event.prediction.usage.totalTokens} tokens)`)
        : Effect.void
    )
  )

  // A conversation keeps its own history; each turn streams its reply. Stopping a stream early
  // (or the client going away) interrupts the model's HTTP request.
  const chat = yield* Conversation.make({ system: "You are a helpful barista." })
  for (const message of ["What is a flat white?", "How is a cortado different?"]) {
    yield* Console.log(`> ${message}`)
    yield* chat.ask(message).pipe(StreamPredict.tokens, Stream.runForEach(write))
    yield* Console.log("")
  }
})

program.pipe(Effect.provide(SimulatorProvider.layerFromEnvOrSimulator()), NodeRuntime.runMain)
