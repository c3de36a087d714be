/**
 * The coffee-shop example: a ChainOfThought agent handles four customers, first one after the
 * other, then all at once with `Effect.forEach(..., { concurrency: 4 })`, and compares the
 * speedup with the ideal one (the sum of per-customer times over the slowest).
 *
 *   pnpm example                       # offline, on the embedded simulator
 *   OPENAI_API_KEY=... pnpm example    # on a real model
 */
import { NodeRuntime } from "@effect/platform-node"
import { SimulatorProvider } from "@effect-dspy/simulator"
import { Clock, Console, Effect } from "effect"
import { customers, triage } from "./CoffeeShop.js"
import { baristaScript } from "./script.js"

// Each customer is timed on Effect's clock; the total is the wall time of the whole run.
const serve = (customer: (typeof customers)[number]) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const prediction = yield* triage(customer)
    const millis = (yield* Clock.currentTimeMillis) - start
    return { customer, prediction, millis }
  })

const timed = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const value = yield* self
    return { value, millis: (yield* Clock.currentTimeMillis) - start }
  })

const seconds = (millis: number) => `${(millis / 1000).toFixed(2)} s`

const program = Effect.gen(function*() {
  // The very first call also pays for one-time work (compiling the signature's schemas, the
  // JIT); one untimed call keeps it out of the comparison.
  yield* triage(customers[0]!)
  yield* Console.log("Sequential:")
  const sequential = yield* timed(Effect.forEach(customers, serve))
  for (const { customer, millis, prediction } of sequential.value) {
    const { action, reply } = prediction.output
    yield* Console.log(`  [${customer.mood}, ${customer.timeOfDay}] ${action._tag}: ${JSON.stringify(action)}`)
    yield* Console.log(`    says: ${reply}  (${seconds(millis)}, ${prediction.usage.totalTokens} tokens)`)
    // what the adapter forgave: the model's near-misses, kept on the trace for you to see
    const misses = prediction.trace.flatMap((entry) => entry.nearMisses)
    if (misses.length > 0) {
      yield* Console.log(`    near-misses accepted: ${misses.map((m) => `${m.field ?? "reply"} (${m.kind}: ${JSON.stringify(m.raw).slice(0, 40)})`).join(", ")}`)
    }
  }

  yield* Console.log("Concurrent (concurrency 4):")
  const concurrent = yield* timed(Effect.forEach(customers, serve, { concurrency: 4 }))
  // The ideal speedup: the sum of per-customer times over the slowest one (sequential run).
  const sum = sequential.value.reduce((total, r) => total + r.millis, 0)
  const max = Math.max(...sequential.value.map((r) => r.millis))
  for (const { customer, millis, prediction } of concurrent.value) {
    yield* Console.log(`  [${customer.mood}] ${prediction.output.action._tag} in ${seconds(millis)}`)
  }
  const speedup = sequential.millis / Math.max(concurrent.millis, 1)
  const ideal = sum / Math.max(max, 1)
  const off = Math.abs(speedup / ideal - 1)
  yield* Console.log(
    `Sequential total ${seconds(sequential.millis)}, concurrent total ${seconds(concurrent.millis)}: ` +
      `speedup ${speedup.toFixed(2)}x ` +
      `(ideal ${ideal.toFixed(2)}x = sum of per-customer times / slowest)`
  )
  yield* Console.log(
    `${off <= 0.01 ? "Within" : "NOT within"} 1% of the ideal speedup (${(off * 100).toFixed(1)}% off)`
  )
})

program.pipe(
  Effect.provide(SimulatorProvider.layerFromEnvOrSimulator({
    // Offline: the simulator answers with the barista script after 1-2 s. The latency is a
    // function of the request ("request" sampling), so each customer takes as long in the
    // concurrent run as in the sequential one and the ideal speedup is reachable. Half its replies
    // drift the way real models do (`Refund.` for `refund`, `"2"` for 2, a <think> block first):
    // the adapter accepts them and records each near-miss on the prediction's trace.
    simulator: {
      drift: 0.5,
      latency: { _tag: "Uniform", minMillis: 1000, maxMillis: 2000 },
      latencySampling: "request",
      seed: 7,
      script: baristaScript
    }
  })),
  NodeRuntime.runMain
)
