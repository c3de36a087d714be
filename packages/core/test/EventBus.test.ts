import { assert, describe, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Fiber, Layer, Stream, TestClock } from "effect"
import { ChainOfThought, type DspyEvent, EventBus, Signature } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

describe("EventBus", () => {
  it("compiles wildcard patterns", () => {
    const lm = EventBus.compilePattern("lm.*")
    assert.isTrue(lm("lm.start"))
    assert.isFalse(lm("module.start"))
    assert.isTrue(EventBus.compilePattern("*")("anything.at.all"))
    assert.isTrue(EventBus.compilePattern("*.end")("module.end"))
    assert.isFalse(EventBus.compilePattern("lm.end")("lm.endx"))
  })

  it.scoped("delivers module and LM events to matching subscribers", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ reasoning: "r", answer: "a" }))
      const bus = yield* EventBus.make
      const all: Array<DspyEvent.DspyEvent> = []
      const lmOnly: Array<string> = []
      yield* Effect.provideService(EventBus.on("*", (e) => Effect.sync(() => all.push(e))), EventBus.EventBus, bus)
      yield* Effect.provideService(
        EventBus.on("lm.*", (e) => Effect.sync(() => lmOnly.push(e.type))),
        EventBus.EventBus,
        bus
      )
      const cot = ChainOfThought.make(Signature.fromString("question -> answer"))
      yield* cot({ question: "q" }).pipe(Effect.provide(lm.layer), Effect.provideService(EventBus.EventBus, bus))
      yield* Effect.yieldNow()
      yield* TestClock.adjust(Duration.millis(1))
      assert.deepStrictEqual(all.map((e) => e.type), ["module.start", "lm.start", "lm.end", "module.end"])
      assert.deepStrictEqual(lmOnly, ["lm.start", "lm.end"])
      const end = all[3]
      assert.isTrue(end?.type === "module.end" && end.success && end.usage.lmCalls === 1)
    }))

  it.scoped("a slow subscriber never blocks the emitter; drops are counted", () =>
    Effect.gen(function*() {
      const bus = yield* EventBus.make
      const slow = yield* Effect.provideService(
        EventBus.on("*", () => Effect.never, { bufferSize: 4 }),
        EventBus.EventBus,
        bus
      )
      for (let i = 0; i < 100; i++) {
        yield* bus.publish({ type: "parse.retry", module: "m", signature: "s", attempt: i })
      }
      // the emitter got here without waiting; the subscriber holds one event, the buffer 4
      const dropped = yield* slow.dropped
      assert.isTrue(dropped >= 90 && dropped <= 96, `dropped ${dropped}`)
    }))

  it.scoped("a failing subscriber does not break the program and keeps receiving", () =>
    Effect.gen(function*() {
      const bus = yield* EventBus.make
      const seen: Array<number> = []
      yield* Effect.provideService(
        EventBus.on("parse.*", (e) =>
          e.type === "parse.retry" && e.attempt === 1 ? Effect.die("boom") : Effect.sync(() => {
            if (e.type === "parse.retry") seen.push(e.attempt)
          })),
        EventBus.EventBus,
        bus
      )
      for (let i = 0; i < 3; i++) yield* bus.publish({ type: "parse.retry", module: "m", signature: "s", attempt: i })
      yield* Effect.yieldNow()
      yield* TestClock.adjust(Duration.millis(1))
      assert.deepStrictEqual(seen, [0, 2])
    }))

  it.scoped("subscriptions end with their scope", () =>
    Effect.gen(function*() {
      const bus = yield* EventBus.make
      const collected = yield* Effect.scoped(
        Effect.gen(function*() {
          const sub = yield* bus.subscribe("*")
          const fiber = yield* sub.events.pipe(Stream.take(2), Stream.runCollect, Effect.fork)
          yield* Effect.yieldNow()
          yield* bus.publish({ type: "parse.retry", module: "m", signature: "s", attempt: 1 })
          yield* bus.publish({ type: "parse.retry", module: "m", signature: "s", attempt: 2 })
          return yield* Fiber.join(fiber)
        })
      )
      assert.strictEqual(Chunk.size(collected), 2)
      assert.isFalse(bus.active())
    }).pipe(Effect.provide(Layer.empty)))
})
