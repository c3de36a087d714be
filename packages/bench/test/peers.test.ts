/**
 * Smoke test of the peer adapters of the comparison (so that none rots between benchmark runs):
 * each peer answers a few typed "question -> answer" calls and streams a few answers against the
 * in-test simulator server, and the server saw each request. Timings are the benchmark's business.
 */
import { assert, describe, it } from "@effect/vitest"
import { SimulatorServer } from "@effect-dspy/simulator"
import { Effect } from "effect"
import { peerIds, peers } from "../src/peers/index.js"
import { question } from "../src/peers/Peer.js"

const CALLS = 4
const LIMIT = 2

describe("peers", () => {
  for (const id of peerIds) {
    it.live(`${id} answers typed questions and streams answers`, () =>
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        const make = yield* Effect.promise(() => peers[id]!())
        const peer = make(`${server.url}/v1`)
        yield* Effect.addFinalizer(() => Effect.promise(() => peer.close()))
        const questions = Array.from({ length: CALLS }, (_, i) => question(i))

        const answers = yield* Effect.promise(() => peer.runAll(questions, LIMIT))
        assert.strictEqual(answers.length, CALLS)
        for (const a of answers) assert.isTrue(typeof a.answer === "string" && a.answer.length > 0, JSON.stringify(a))
        const afterBatch = yield* server.counters
        assert.isAtLeast(afterBatch.completed, CALLS)
        assert.isAtMost(afterBatch.maxInFlight, LIMIT)

        const texts = yield* Effect.promise(() => peer.streamAll(questions, LIMIT))
        assert.strictEqual(texts.length, CALLS)
        for (const t of texts) assert.isAbove(t.length, 0)
        const afterStreams = yield* server.counters
        assert.isAtLeast(afterStreams.completed, 2 * CALLS)
        assert.strictEqual(afterStreams.badRequests, 0)
      }).pipe(Effect.scoped, Effect.provide(SimulatorServer.layer({}))))
  }
})
