import { SimulatorServer } from "@effect-dspy/simulator"
import { ChatCompletions, Lm } from "@effect-dspy/providers"
import { Predict, Signature } from "@effect-dspy/core"
import { Effect, Layer, Tracer } from "effect"
import { Lm as _Lm } from "@effect-dspy/providers"

const QA = Signature.fromString("question -> answer")
const qa = Predict.make(QA)
const N = Number(process.env.N ?? 3000)
const program = Effect.gen(function*() {
  const server = yield* SimulatorServer.SimulatorServer
  const baseUrl = `${server.url}/v1`
  const variants: Record<string, Layer.Layer<any, any>> = {
    lm: Lm.layer("openai-compatible/sim-1", { baseUrl }),
    noretry: Lm.layer("openai-compatible/sim-1", { baseUrl, retry: { maxRetries: 0, timeout: undefined } }),
    timeoutonly: Lm.layer("openai-compatible/sim-1", { baseUrl, retry: { maxRetries: 0 } }),
    retryonly: Lm.layer("openai-compatible/sim-1", { baseUrl, retry: { timeout: undefined } }),
    raw: ChatCompletions.layer({ model: "sim-1", apiUrl: baseUrl }).pipe(Layer.provide(Lm.httpClientLayer)),
  }
  for (const name of (process.env.V ?? "lm,noretry,raw").split(",")) {
    const ctx = yield* Layer.build(variants[name]!)
    const run = (n: number) => Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => qa({ question: `q${i}` }), { concurrency: 64 }).pipe(Effect.provide(ctx))
    yield* run(500)
    const c0 = process.cpuUsage()
    yield* run(N)
    const c = process.cpuUsage(c0)
    console.log(name, ((c.user + c.system) / N).toFixed(0), "µs cpu/call (incl. server)")
  }
})
Effect.runPromise(program.pipe(Effect.provide(SimulatorServer.layer()), Effect.scoped, Effect.withTracerEnabled(process.env.NOTRACE ? false : true))).catch(console.error)
