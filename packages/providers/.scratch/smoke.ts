import { SimulatorServer } from "@effect-dspy/simulator"
import { Lm } from "@effect-dspy/providers"
import { Predict, Signature, JsonAdapter, Adapter } from "@effect-dspy/core"
import { LanguageModel } from "@effect/ai"
import { Effect, Stream, Layer } from "effect"

const QA = Signature.fromString("question -> answer")
const qa = Predict.make(QA)
const program = Effect.gen(function*() {
  const server = yield* SimulatorServer.SimulatorServer
  for (const id of ["openai-compatible/sim-1", "openai/sim-1", "anthropic/sim-1"]) {
    const model = Lm.layer(id, { baseUrl: id.startsWith("anthropic") ? server.url : `${server.url}/v1`, apiKey: undefined })
    const p = yield* qa({ question: "What is 2+2?" }).pipe(Effect.provide(model), Effect.either)
    console.log(id, "predict", p._tag === "Right" ? p.right.output : p.left.message)
    const j = yield* qa({ question: "What is 2+2?" }).pipe(Adapter.withAdapter(JsonAdapter.adapter), Effect.provide(model), Effect.either)
    console.log(id, "json", j._tag === "Right" ? j.right.output : j.left.message)
    const s = yield* LanguageModel.streamText({ prompt: "Say hi" }).pipe(Stream.runCollect, Effect.provide(model), Effect.either)
    console.log(id, "stream", s._tag === "Right" ? [...s.right].map((p) => p.type).join(",") : s.left.message)
  }
})
Effect.runPromise(program.pipe(Effect.provide(SimulatorServer.layer()), Effect.scoped)).catch(console.error)
