import { SimulatorServer } from "@effect-dspy/simulator"
import { Lm, Resilience } from "@effect-dspy/providers"
import { Predict, Signature } from "@effect-dspy/core"
import { Effect, Layer, Metric } from "effect"

const QA = Signature.fromString("question -> answer")
const qa = Predict.make(QA)
const N = Number(process.env.N ?? 2000)
const program = Effect.gen(function*() {
  const server = yield* SimulatorServer.SimulatorServer
  const model = yield* Layer.build(Lm.layer("openai-compatible/sim-1", { baseUrl: `${server.url}/v1`, ...(process.env.NORETRY ? { retry: false } : {}) }))
  const run = (n: number) => Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => qa({ question: `q${i}` }), { concurrency: 64 }).pipe(Effect.provide(model))
  yield* run(500)
  const t0 = performance.now(); const c0 = process.cpuUsage()
  yield* run(N)
  const c = process.cpuUsage(c0); const t = performance.now() - t0
  console.log(`${N} calls: ${(t).toFixed(0)} ms wall, ${((c.user + c.system) / N).toFixed(0)} µs cpu/call (incl. server)`)
  const retries = yield* Metric.value(Resilience.retriesTotal)
  const failed = yield* Metric.value(Resilience.failedAttemptsTotal)
  console.log("retries", retries.count, "failed", failed.count)
})
Effect.runPromise(program.pipe(Effect.provide(SimulatorServer.layer()), Effect.scoped)).catch(console.error)
