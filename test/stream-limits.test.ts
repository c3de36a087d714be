/**
 * `StreamPredict` against the simulator server over loopback HTTP: a semaphore wrapping a
 * streamed call covers the stream until its last token (the server never sees more streams
 * open than the limit), and interrupting a stream aborts its HTTP request at once.
 */
import { ChainOfThought, Signature, StreamPredict } from "@effect-dspy/core"
import { Lm } from "@effect-dspy/providers"
import { SimulatorServer } from "@effect-dspy/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { eventually } from "./utils/chatServer.js"

const QA = Signature.fromString("question -> answer")

describe("streaming over HTTP", () => {
  it.scopedLive("with a limit of 2, five streams never have more than 2 open at the server", () =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.make({ timeToFirstTokenMillis: 20, tokensPerSecond: 400 })
      const model = Lm.layer("openai-compatible/sim-1", { baseUrl: `${server.url}/v1`, retry: false })
      const solve = ChainOfThought.make(QA)
      const slots = yield* Effect.makeSemaphore(2)
      const results = yield* Effect.forEach(
        ["one", "two", "three", "four", "five"],
        (question) => StreamPredict.final(StreamPredict.stream(solve, { question }, { semaphore: slots })),
        { concurrency: "unbounded" }
      ).pipe(Effect.provide(model))
      assert.strictEqual(results.length, 5)
      for (const r of results) assert.isString(r.output.answer)
      const counters = yield* server.counters
      assert.strictEqual(counters.completed, 5)
      assert.strictEqual(counters.maxInFlight, 2)
    }))

  it.scopedLive("interrupting a stream mid-answer aborts its upstream request", () =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.make({ tokensPerSecond: 20 })
      const model = Lm.layer("openai-compatible/sim-1", { baseUrl: `${server.url}/v1`, retry: false })
      let tokens = 0
      const fiber = yield* StreamPredict.stream(ChainOfThought.make(QA), { question: "Tell me everything" }).pipe(
        Stream.runForEach((event) => Effect.sync(() => event._tag === "TokenDelta" && tokens++)),
        Effect.provide(model),
        Effect.fork
      )
      yield* eventually(Effect.sync(() => tokens), (n) => n >= 2)
      assert.strictEqual((yield* server.counters).inFlight, 1)
      yield* Fiber.interrupt(fiber)
      const counters = yield* eventually(server.counters, (c) => c.abortedByClient === 1 && c.inFlight === 0)
      assert.strictEqual(counters.completed, 0)
    }))
})
