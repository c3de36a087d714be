import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, TestClock } from "effect"
import { Predict, Signature } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const QA = Signature.fromString("question -> answer")

describe("fan-out", () => {
  it.effect("never has more than K LM calls in flight", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((_prompt, call) =>
        Effect.sleep(Duration.millis(100 + (call % 7) * 10)).pipe(Effect.as(ScriptedLm.reply({ answer: `a${call}` })))
      )
      const qa = Predict.make(QA)
      const inputs = Array.from({ length: 20 }, (_, i) => ({ question: `q${i}` }))
      const fiber = yield* Effect.forEach(inputs, (input) => qa(input), { concurrency: 4 }).pipe(
        Effect.provide(lm.layer),
        Effect.fork
      )
      yield* TestClock.adjust(Duration.seconds(10))
      const results = yield* Fiber.join(fiber)
      assert.strictEqual(results.length, 20)
      assert.strictEqual(lm.counters.calls, 20)
      assert.strictEqual(lm.counters.maxInFlight, 4)
    }))

  it.effect("interrupting the parent interrupts every in-flight call", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => Effect.never)
      const qa = Predict.make(QA)
      const inputs = Array.from({ length: 10 }, (_, i) => ({ question: `q${i}` }))
      const fiber = yield* Effect.forEach(inputs, (input) => qa(input), { concurrency: 5 }).pipe(
        Effect.provide(lm.layer),
        Effect.fork
      )
      yield* TestClock.adjust(Duration.millis(1))
      assert.strictEqual(lm.counters.inFlight, 5)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(lm.counters.interrupted, 5)
      assert.strictEqual(lm.counters.inFlight, 0)
      assert.strictEqual(lm.counters.calls, 5)
    }))
})
