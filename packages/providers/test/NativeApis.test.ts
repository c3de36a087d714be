/**
 * `openai/…` (Responses API), `anthropic/…` (Messages) and `google/…` (Gemini) over the
 * `@effect/ai-*` clients, against replies written from each API's reference, replayed over
 * loopback, through `Lm.layer` with a retry policy, on `TestClock`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Redacted } from "effect"
import * as Lm from "../src/Lm.js"
import * as fx from "./fixtures/nativeApis.js"
import { elapsed, failureOf, generate, policy, stream, textOf, valueOf } from "./utils/calls.js"
import { serve } from "./utils/replay.js"

const apiKey = Redacted.make("sk-test-native-0123456789")
const openai = (url: string) => Lm.layer("openai/gpt-4.1", { baseUrl: `${url}/v1`, apiKey, retry: policy })
const anthropic = (url: string) => Lm.layer("anthropic/claude-3-5-haiku-latest", { baseUrl: url, apiKey, retry: policy })
const google = (url: string) => Lm.layer("google/gemini-2.0-flash", { baseUrl: url, apiKey, retry: policy })

describe("OpenAI Responses", () => {
  it.scoped("a whole stream, ending with response.completed", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.responsesStream])
      const parts = valueOf(yield* stream(openai(server.url)))
      assert.strictEqual(textOf(parts), "Four.")
      assert.strictEqual(server.received[0]!.url, "/v1/responses")
    }))

  it.scoped("cut off before response.completed: retried before content, StreamFailed after", () =>
    Effect.gen(function*() {
      const early = yield* serve([fx.responsesCutEarly, fx.responsesStream])
      assert.strictEqual(textOf(valueOf(yield* stream(openai(early.url)))), "Four.")
      assert.strictEqual(early.received.length, 2)
      const late = yield* serve([fx.responsesCut])
      const error = failureOf(yield* stream(openai(late.url)))
      assert.strictEqual(error._tag, "StreamFailed")
      if (error._tag === "StreamFailed") {
        assert.strictEqual(error.reason, "ConnectionReset")
        assert.strictEqual(error.partialText, "T")
      }
    }))

  it.scoped("an error event and response.failed are classified failures with the server's words", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.responsesErrorEvent])
      const error = failureOf(yield* stream(openai(server.url)))
      assert.strictEqual(error._tag, "Overloaded")
      assert.include(error.description, "The server had an error")
      assert.strictEqual(server.received.length, 3)
      const failed = yield* serve([fx.responsesFailed, fx.responsesStream])
      assert.strictEqual(textOf(valueOf(yield* stream(openai(failed.url)))), "Four.")
      assert.strictEqual(failed.received.length, 2)
    }))

  it.scoped("response.incomplete (max_output_tokens) is Truncated, not a prediction", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.responsesIncomplete])
      const error = failureOf(yield* stream(openai(server.url)))
      assert.strictEqual(error._tag, "Truncated")
      assert.strictEqual(server.received.length, 1)
    }))

  it.scoped("non-streamed: whole, refused, failed, and a 200 with an error object", () =>
    Effect.gen(function*() {
      const whole = yield* serve([fx.responsesBody])
      assert.strictEqual(valueOf(yield* generate(openai(whole.url))).text, "Four.")
      const refused = yield* serve([fx.responsesRefusal])
      const refusal = failureOf(yield* generate(openai(refused.url)))
      assert.strictEqual(refusal._tag, "Refused")
      assert.include(refusal.description, "I can't help with that.")
      assert.strictEqual(refused.received.length, 1)
      const failed = yield* serve([fx.responsesFailedBody])
      assert.strictEqual(failureOf(yield* generate(openai(failed.url)))._tag, "RateLimited")
      const gateway = yield* serve([fx.responsesOkWithError])
      const error = failureOf(yield* generate(openai(gateway.url)))
      assert.strictEqual(error._tag, "Overloaded")
      assert.include(error.description, "The engine is currently overloaded")
      assert.strictEqual(gateway.received.length, 3)
    }))

  it.scoped("openai/ can target a chat-completions server (OPENAI_BASE_URL pointing at one)", () =>
    Effect.gen(function*() {
      const server = yield* serve([{ body: JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "Four." }, finish_reason: "stop" }] }) }])
      const model = Lm.layer("openai/gpt-4o-mini", { baseUrl: `${server.url}/v1`, apiKey, api: "chat-completions", retry: policy })
      assert.strictEqual(valueOf(yield* generate(model)).text, "Four.")
      assert.strictEqual(server.received[0]!.url, "/v1/chat/completions")
    }))
})

describe("Anthropic Messages", () => {
  it.scoped("a whole stream, cut every 7 bytes, ending with message_stop", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.messagesStream])
      const parts = valueOf(yield* stream(anthropic(server.url)))
      assert.strictEqual(textOf(parts), "Paris is the capital.")
      assert.strictEqual(server.received[0]!.headers["x-api-key"], "sk-test-native-0123456789")
    }))

  it.scoped("cut off before message_stop: retried before content, StreamFailed after", () =>
    Effect.gen(function*() {
      const early = yield* serve([fx.messagesCutEarly, fx.messagesStream])
      assert.strictEqual(textOf(valueOf(yield* stream(anthropic(early.url)))), "Paris is the capital.")
      assert.strictEqual(early.received.length, 2)
      const late = yield* serve([fx.messagesCut])
      const error = failureOf(yield* stream(anthropic(late.url)))
      assert.strictEqual(error._tag, "StreamFailed")
      if (error._tag === "StreamFailed") assert.strictEqual(error.partialText, "The capital of")
    }))

  it.scoped("event: error is classified (overloaded_error, and a type the library's schema does not list)", () =>
    Effect.gen(function*() {
      const overloaded = yield* serve([fx.messagesOverloadedEvent, fx.messagesStream])
      assert.strictEqual(textOf(valueOf(yield* stream(anthropic(overloaded.url)))), "Paris is the capital.")
      assert.strictEqual(overloaded.received.length, 2)
      const unlisted = yield* serve([fx.messagesUnlistedErrorEvent])
      const error = failureOf(yield* stream(anthropic(unlisted.url)))
      assert.strictEqual(error._tag, "Timeout")
      assert.include(error.description, "Request timed out")
    }))

  it.scoped("stop_reason max_tokens is Truncated; refusal is Refused; neither is sent again", () =>
    Effect.gen(function*() {
      const cut = yield* serve([fx.messagesMaxTokens])
      const truncated = failureOf(yield* stream(anthropic(cut.url)))
      assert.strictEqual(truncated._tag, "Truncated")
      if (truncated._tag === "Truncated") assert.strictEqual(truncated.partialText, "The capital of")
      const refused = yield* serve([fx.messagesRefusal])
      const refusal = failureOf(yield* generate(anthropic(refused.url)))
      assert.strictEqual(refusal._tag, "Refused")
      assert.include(refusal.description, "I can't help with that request.")
      assert.deepStrictEqual([cut.received.length, refused.received.length], [1, 1])
    }))

  it.scoped("529 is retried; a 429 waits for anthropic-ratelimit-requests-reset (RFC 3339)", () =>
    Effect.gen(function*() {
      const overloaded = yield* serve([fx.messages529, fx.messagesStream])
      assert.strictEqual(textOf(valueOf(yield* stream(anthropic(overloaded.url)))), "Paris is the capital.")
      // the exhausted bucket (requests) resets 45 s from now (the tokens bucket, not exhausted, sooner)
      const now = yield* Clock.currentTimeMillis
      const limited = yield* serve([fx.messages429(now + 45_000), fx.messagesBody])
      assert.isAtLeast(valueOf(yield* elapsed(anthropic(limited.url))), 45_000)
      assert.strictEqual(limited.received.length, 2)
    }))
})

describe("Gemini", () => {
  it.scoped("a whole stream, cut every 5 bytes, ending with a finishReason", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.geminiStream])
      const parts = valueOf(yield* stream(google(server.url)))
      assert.strictEqual(textOf(parts), "Paris is the capital.")
      assert.strictEqual(server.received[0]!.url, "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse")
      assert.strictEqual(server.received[0]!.headers["x-goog-api-key"], "sk-test-native-0123456789")
    }))

  it.scoped("cut off before a finishReason: StreamFailed with the text so far", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.geminiCut])
      const error = failureOf(yield* stream(google(server.url)))
      assert.strictEqual(error._tag, "StreamFailed")
      if (error._tag === "StreamFailed") assert.strictEqual(error.partialText, "The capital of")
    }))

  it.scoped("an error object inside the stream is classified and retried", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.geminiInBandError, fx.geminiStream])
      assert.strictEqual(textOf(valueOf(yield* stream(google(server.url)))), "Paris is the capital.")
      assert.strictEqual(server.received.length, 2)
    }))

  it.scoped("a blocked prompt and a safety stop are ContentFiltered; MAX_TOKENS is Truncated; none is sent again", () =>
    Effect.gen(function*() {
      const blocked = yield* serve([fx.geminiBlockedPrompt])
      const prompt = failureOf(yield* generate(google(blocked.url)))
      assert.strictEqual(prompt._tag, "ContentFiltered")
      assert.include(prompt.description, "SAFETY")
      const safety = yield* serve([fx.geminiSafety])
      const stopped = failureOf(yield* generate(google(safety.url)))
      assert.strictEqual(stopped._tag, "ContentFiltered")
      assert.include(stopped.description, "HARM_CATEGORY_DANGEROUS_CONTENT")
      const cut = yield* serve([fx.geminiMaxTokens])
      assert.strictEqual(failureOf(yield* generate(google(cut.url)))._tag, "Truncated")
      assert.deepStrictEqual([blocked.received.length, safety.received.length, cut.received.length], [1, 1, 1])
    }))

  it.scoped("a 429 with RetryInfo waits its retryDelay (37 s) before the retry", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.gemini429, fx.geminiBody])
      assert.isAtLeast(valueOf(yield* elapsed(google(server.url))), 37_000)
      assert.strictEqual(server.received.length, 2)
    }))
})
