/**
 * Every form in which servers say when to come back, read into one wait (never earlier than the
 * reset), and honoured through `Lm.layer`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { durationMillis, resetMillis } from "../src/internal/rateLimitReset.js"
import * as Lm from "../src/Lm.js"
import { completion } from "./fixtures/chatCompletions.js"
import { elapsed, failureOf, generate, policy, valueOf } from "./utils/calls.js"
import { serve } from "./utils/replay.js"

const now = Date.parse("2026-03-01T12:00:00Z")

describe("rate-limit resets", () => {
  it("Go-style durations (OpenAI, Groq)", () => {
    assert.deepStrictEqual(["1s", "6m0s", "1.2s", "20ms", "2h3m4.5s", "37s", "7.66s", "2m59.56s"].map(durationMillis), [
      1000, 360_000, 1200, 20, 7_384_500, 37_000, 7660, 179_560
    ])
    assert.isUndefined(durationMillis("soon"))
  })

  it("retry-after-ms, retry-after in seconds and as an HTTP date", () => {
    assert.strictEqual(resetMillis({ "retry-after-ms": "1500" }, undefined, now), 1500)
    assert.strictEqual(resetMillis({ "retry-after": "2" }, undefined, now), 2000)
    assert.strictEqual(resetMillis({ "retry-after": "Sun, 01 Mar 2026 12:00:30 GMT" }, undefined, now), 30_000)
  })

  it("x-ratelimit-reset-*: the exhausted bucket's reset, else every reset", () => {
    const headers = { "x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s" }
    assert.strictEqual(resetMillis({ ...headers, "x-ratelimit-remaining-requests": "0", "x-ratelimit-remaining-tokens": "1200" }, undefined, now), 1000)
    assert.strictEqual(resetMillis({ ...headers, "x-ratelimit-remaining-requests": "7", "x-ratelimit-remaining-tokens": "0" }, undefined, now), 360_000)
    assert.strictEqual(resetMillis(headers, undefined, now), 360_000)
    // an explicit retry-after and the exhausted bucket: the later
    assert.strictEqual(resetMillis({ ...headers, "retry-after": "3", "x-ratelimit-remaining-tokens": "0" }, undefined, now), 360_000)
  })

  it("anthropic-ratelimit-*-reset (RFC 3339)", () => {
    assert.strictEqual(resetMillis({
      "anthropic-ratelimit-requests-remaining": "0",
      "anthropic-ratelimit-requests-reset": "2026-03-01T12:00:45Z",
      "anthropic-ratelimit-tokens-remaining": "30000",
      "anthropic-ratelimit-tokens-reset": "2026-03-01T12:00:05Z"
    }, undefined, now), 45_000)
  })

  it("OpenRouter's X-RateLimit-Reset (epoch ms), in headers and in the body's metadata", () => {
    assert.strictEqual(resetMillis({ "X-RateLimit-Reset": String(now + 12_000), "X-RateLimit-Remaining": "0" }, undefined, now), 12_000)
    const body = { error: { code: 429, message: "Rate limit exceeded: free-models-per-min", metadata: { headers: { "X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": String(now + 9000) } } } }
    assert.strictEqual(resetMillis({}, JSON.stringify(body), now), 9000)
  })

  it("Gemini's RetryInfo.retryDelay", () => {
    const body = { error: { code: 429, status: "RESOURCE_EXHAUSTED", details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "37s" }] } }
    assert.strictEqual(resetMillis({}, body, now), 37_000)
  })

  it("nothing named: no wait (the backoff decides)", () => {
    assert.isUndefined(resetMillis({ "content-type": "application/json" }, "{}", now))
  })
})

const limited = (headers: Record<string, string>, body: unknown = { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } }) => ({
  status: 429,
  headers,
  body: JSON.stringify(body)
})

const compatible = (url: string) => Lm.layer("openai-compatible/m", { baseUrl: `${url}/v1`, retry: policy })

describe("rate limits through Lm.layer", () => {
  it.scoped("Groq: the exhausted bucket's reset (tokens, 7.66s) is waited before the retry, not the other's", () =>
    Effect.gen(function*() {
      const server = yield* serve([limited({ "x-ratelimit-reset-tokens": "7.66s", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-requests": "2m59.56s", "x-ratelimit-remaining-requests": "14" }), completion({ content: "ok" })])
      const waited = valueOf(yield* elapsed(compatible(server.url)))
      assert.isAtLeast(waited, 7660)
      assert.isBelow(waited, 20_000)
    }))

  it.scoped("OpenAI's insufficient_quota is a 429 that no wait fixes: QuotaExceeded, one request", () =>
    Effect.gen(function*() {
      const server = yield* serve([limited({}, { error: { message: "You exceeded your current quota, please check your plan and billing details.", type: "insufficient_quota", code: "insufficient_quota" } })])
      assert.strictEqual(failureOf(yield* generate(compatible(server.url)))._tag, "QuotaExceeded")
      assert.strictEqual(server.received.length, 1)
    }))

  it.scoped("DeepSeek's 402 Insufficient Balance is QuotaExceeded", () =>
    Effect.gen(function*() {
      const server = yield* serve([{ status: 402, body: JSON.stringify({ error: { message: "Insufficient Balance", type: "unknown_error", param: null, code: "invalid_request_error" } }) }])
      assert.strictEqual(failureOf(yield* generate(compatible(server.url)))._tag, "QuotaExceeded")
    }))
})
