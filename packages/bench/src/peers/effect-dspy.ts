/**
 * effect-dspy: `Predict` of the signature "question -> answer" over the providers' openai-compatible
 * model, with the ChatAdapter (field-marker prompt, the default) or the JsonAdapter (`json_schema`
 * structured output), bounded by `Effect.forEach`'s `concurrency`. Streams use `StreamPredict`.
 */
import { Adapter, ChatAdapter, JsonAdapter, Predict, Signature, StreamPredict } from "@effect-dspy/core"
import { Lm } from "@effect-dspy/providers"
import { Effect, ManagedRuntime, Stream } from "effect"
import { instructions, type Peer } from "./Peer.js"

const QA = Signature.fromString("question -> answer", { name: "QA", instructions })
const qa = Predict.make(QA)

export const make = (baseUrl: string, adapterName: "chat" | "json"): Peer => {
  const runtime = ManagedRuntime.make(Lm.layer("openai-compatible/sim-1", { baseUrl }))
  const adapter = adapterName === "chat" ? ChatAdapter.adapter : JsonAdapter.adapter
  return {
    name: `effect-dspy Predict (${adapterName === "chat" ? "ChatAdapter" : "JsonAdapter"})`,
    how: adapterName === "chat"
      ? "Predict, ChatAdapter (field markers), openai-compatible provider; Effect.forEach concurrency"
      : "Predict, JsonAdapter (json_schema response_format), openai-compatible provider; Effect.forEach concurrency",
    runAll: (questions, concurrency) =>
      runtime.runPromise(
        Effect.forEach(questions, (question) => Effect.map(qa({ question }), (prediction) => prediction.output), { concurrency }).pipe(
          Adapter.withAdapter(adapter)
        )
      ),
    streamAll: (questions, concurrency) =>
      runtime.runPromise(
        Effect.forEach(
          questions,
          (question) => Stream.runFold(StreamPredict.tokens(StreamPredict.stream(qa, { question }, { adapter })), "", (a, b) => a + b),
          { concurrency }
        )
      ),
    close: () => runtime.dispose()
  }
}
