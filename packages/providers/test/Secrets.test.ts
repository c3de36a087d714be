import type * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Redacted, Stream, TestClock } from "effect"
import * as Lm from "../src/Lm.js"
import * as LmError from "../src/LmError.js"
import { json, makeFakeFetch, type Responder, text } from "./utils/fakeFetch.js"
import { makeRecorders, safe } from "./utils/recorders.js"

// Recognisable, and deliberately not shaped like "sk-…" so the generic key pattern
// cannot hide a missing scrub of the configured secret.
const KEY = "LEAKCHECK-7f3a9c1e5b2d4a60"

const echoing = (status: number): Responder =>
  json(status, { error: { message: `Incorrect API key provided: ${KEY}`, type: "invalid_request_error" } })

const transportWithKey: Responder = () => {
  throw new TypeError(`fetch failed for Bearer ${KEY}`)
}

const providers = [
  { id: "openai/gpt-4o-mini", authHeader: "authorization" },
  { id: "anthropic/claude-3-5-haiku-latest", authHeader: "x-api-key" },
  { id: "openai-compatible/llama3", authHeader: "authorization" }
] as const

describe("secrets", () => {
  for (const { authHeader, id } of providers) {
    it.scoped(`${id}: the API key never reaches errors, logs or spans`, () =>
      Effect.gen(function*() {
        const recorders = makeRecorders()
        const fake = makeFakeFetch([
          echoing(500),
          transportWithKey,
          text(503, `upstream said ${KEY}`),
          echoing(401)
        ])
        const layer = Lm.layerWithoutHttpClient(id, {
          apiKey: Redacted.make(KEY),
          baseUrl: "http://127.0.0.1:9/v1",
          retry: { maxRetries: 5, baseDelay: "10 millis", maxDelay: "100 millis" }
        }).pipe(Layer.provide(fake.layer))
        // Built before the clock is moved: building loads the provider's module, which is real I/O.
        const context = yield* Layer.build(layer).pipe(Effect.provide(recorders.layer))
        const program = Effect.gen(function*() {
          const text = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(Effect.exit)
          const stream = yield* LanguageModel.streamText({ prompt: "hi" }).pipe(Stream.runDrain, Effect.exit)
          return [text, stream] as const
        }).pipe(
          Effect.provide(context),
          Effect.withSpan("test-root"),
          Effect.provide(recorders.layer)
        )
        const fiber = yield* Effect.fork(program)
        yield* TestClock.adjust("1 minute")
        const exits = yield* Fiber.join(fiber)

        // the key was sent, so the check below is meaningful
        assert.include(fake.requests[0]!.headers[authHeader], KEY)
        for (const exit of exits as ReadonlyArray<Exit.Exit<unknown, AiError.AiError>>) {
          assert(Exit.isFailure(exit))
          const error = yield* Effect.flip(exit)
          const classified = LmError.classify(error)
          assert.strictEqual(classified._tag, "Authentication")
          for (const text of [error.message, safe(error), String(error), Cause.pretty(exit.cause), classified.message, safe(classified)]) {
            assert.notInclude(text, KEY)
          }
        }
        assert(recorders.logs.some((line) => line.includes("retry")), "retries were logged")
        for (const line of [...recorders.logs, ...recorders.spans]) assert.notInclude(line, KEY)
        assert(recorders.spans.some((line) => line.includes(`http.request.header.${authHeader}=<redacted>`)))
      }))
  }

  it("scrub removes configured secrets and key-shaped strings", () => {
    const out = LmError.scrub(`a ${KEY} b sk-proj-abcdefghijklmnop c Bearer abc.def-ghijk`, [Redacted.make(KEY)])
    assert.strictEqual(out, "a <redacted> b <redacted> c <redacted>")
  })
})
