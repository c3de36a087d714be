import { LanguageModel } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, TestClock } from "effect"
import { Simulator, type SimulatorConfig } from "../src/index.js"

const prompts = ["A large oat latte, please", "My cappuccino was cold", "Get me your manager", "Tell me a joke"]

// Each prompt's latency as seen by its caller, on the test clock, on the model in context.
const run = (order: ReadonlyArray<string>, concurrency: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.forEach(order, (prompt) =>
      Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        yield* LanguageModel.generateText({ prompt })
        return [prompt, (yield* Clock.currentTimeMillis) - start] as const
      }), { concurrency }))
    yield* TestClock.adjust("1 minute")
    return new Map(yield* Fiber.join(fiber))
  })

// The same, on a fresh simulator.
const latencies = (options: SimulatorConfig.SimulatorOptions, order: ReadonlyArray<string>, concurrency: number) =>
  run(order, concurrency).pipe(Effect.provide(Simulator.layer(options)))

const byPrompt = (map: ReadonlyMap<string, number>) => prompts.map((p) => map.get(p))

describe("latency sampling", () => {
  const uniform: SimulatorConfig.Latency = { _tag: "Uniform", minMillis: 400, maxMillis: 800 }

  it.effect("\"request\": a request takes the same time in any order and at any concurrency", () =>
    Effect.gen(function*() {
      // one simulator for all runs, as in the coffee-shop example (sequential, then concurrent)
      const sequential = byPrompt(yield* run(prompts, 1))
      const concurrent = byPrompt(yield* run(prompts, 4))
      const reversed = byPrompt(yield* run([...prompts].reverse(), 2))
      assert.deepStrictEqual(concurrent, sequential)
      assert.deepStrictEqual(reversed, sequential)
      // and on a fresh simulator with the same seed
      assert.deepStrictEqual(byPrompt(yield* latencies({ seed: 7, latency: uniform, latencySampling: "request" }, prompts, 4)), sequential)
      for (const millis of sequential) {
        assert.isAtLeast(millis!, 400)
        assert.isAtMost(millis!, 800)
      }
      // a function of the request, not a constant
      assert.isAbove(new Set(sequential).size, 1)
    }).pipe(Effect.provide(Simulator.layer({ seed: 7, latency: uniform, latencySampling: "request" }))))

  it.effect("\"request\": the seed still changes the latencies", () =>
    Effect.gen(function*() {
      const a = byPrompt(yield* latencies({ seed: 1, latency: uniform, latencySampling: "request" }, prompts, 4))
      const b = byPrompt(yield* latencies({ seed: 2, latency: uniform, latencySampling: "request" }, prompts, 4))
      assert.notDeepEqual(a, b)
    }))

  it.effect("\"sequence\" (the default): latencies follow the order of requests", () =>
    Effect.gen(function*() {
      const options = { seed: 7, latency: uniform } as const
      const forward = yield* latencies(options, prompts, 1)
      const backward = yield* latencies(options, [...prompts].reverse(), 1)
      // the n-th request gets the n-th draw, whichever request it is
      assert.deepStrictEqual([...backward.values()], [...forward.values()])
      assert.notDeepEqual(byPrompt(backward), byPrompt(forward))
      // so a second run on the same simulator gets other latencies
      const again = yield* Effect.zipRight(run(prompts, 4), run(prompts, 4)).pipe(Effect.provide(Simulator.layer(options)))
      assert.notDeepEqual(byPrompt(again), byPrompt(forward))
    }))
})
