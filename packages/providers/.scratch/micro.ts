import { LanguageModel } from "@effect/ai"
import { Resilience } from "@effect-dspy/providers"
import { Effect } from "effect"

const parts = [
  { type: "response-metadata", id: "x", modelId: "m", timestamp: new Date().toISOString() },
  { type: "text", text: "[[ ## answer ## ]]\nfour\n\n[[ ## completed ## ]]" },
  { type: "finish", reason: "stop", usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 } }
] as const
const N = 20000
const bench = (name: string, make: (svc: LanguageModel.Service) => LanguageModel.Service) =>
  Effect.gen(function*() {
    const base = yield* LanguageModel.make({ generateText: () => Effect.succeed(parts as any), streamText: () => { throw 1 } })
    const svc = make(base)
    const once = svc.generateText({ prompt: "hi" })
    for (let i = 0; i < 2000; i++) yield* once
    const c0 = process.cpuUsage()
    yield* Effect.forEach(Array.from({ length: N }), () => once, { concurrency: 64, discard: true })
    const c = process.cpuUsage(c0); console.log(name, ((c.user + c.system) / N).toFixed(1), "µs cpu/call")
  })
const prog = Effect.gen(function*() {
  yield* bench("LanguageModel.make", (s) => s)
  yield* bench("+timeout", (s) => Resilience.make(s, { policy: { maxRetries: 0 } }))
  yield* bench("+retry", (s) => Resilience.make(s, { policy: { timeout: undefined } }))
  yield* bench("+both", (s) => Resilience.make(s, {}))
  yield* bench("LanguageModel.make", (s) => s)
  yield* bench("+both", (s) => Resilience.make(s, {}))
})
Effect.runPromise(prog)
