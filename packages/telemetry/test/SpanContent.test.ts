import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck, Redacted, Stream } from "effect"
import * as TestClock from "effect/TestClock"
import { GenAi, SpanContent } from "../src/index.js"
import { makeScrubber, redactPatterns } from "../src/internal/redact.js"
import { toAttributeValue } from "../src/internal/tracer.js"

const info: SpanContent.Info = { span: "module", direction: "input", name: "QA" }

describe("SpanContent", () => {
  it("renders strings as they are and other values as JSON", () => {
    const render = SpanContent.renderer()!
    assert.strictEqual(render("plain text", info), "plain text")
    assert.strictEqual(render({ a: 1, b: [true, null] }, info), `{"a":1,"b":[true,null]}`)
    assert.strictEqual(render({ n: 10n, key: Redacted.make("hidden") }, info), `{"n":"10","key":"<redacted>"}`)
    assert.strictEqual(render({ key: Redacted.make("hidden"), list: [1] }, info), `{"key":"<redacted>","list":[1]}`)
    const cycle: Record<string, unknown> = { a: 1 }
    cycle.self = cycle
    assert.strictEqual(render(cycle, info), `{"a":1,"self":"[Circular]"}`)
    const cyclic: Record<string, unknown> = { name: "loop" }
    cyclic["self"] = cyclic
    assert.strictEqual(render(cyclic, info), `{"name":"loop","self":"[Circular]"}`)
  })

  it("capture off renders nothing (and the renderer is absent, so nothing is serialized)", () => {
    assert.isUndefined(SpanContent.renderer({ capture: false }))
  })

  it("redacts API keys and bearer tokens, then applies the mask", () => {
    const render = SpanContent.renderer({ mask: (text, i) => `${i.direction}:${text.replaceAll(/\d{3}-\d{4}/g, "***-****")}` })!
    const out = render("key sk-ant-api03-abcdefghijklmnop1234 call 555-1234, Authorization: Bearer abc.def.ghijklmnop", info)
    assert.strictEqual(out, "input:key sk-[REDACTED] call ***-****, Authorization: Bearer [REDACTED]")
    assert.strictEqual(redactPatterns(`{"api_key": "abcd1234efgh5678"}`), `{"api_key": "[REDACTED]"}`)
    // Ordinary text is left alone.
    assert.strictEqual(redactPatterns("ask-me anything, basic question"), "ask-me anything, basic question")
  })

  it.prop("rendered text never exceeds the maximum length plus the truncation marker", [
    FastCheck.string({ maxLength: 500 }),
    FastCheck.integer({ min: 16, max: 200 })
  ], ([text, maxLength]) => {
    const out = SpanContent.renderer({ maxLength, redactKnownPatterns: false })!(text, info)!
    if (text.length <= maxLength) return out === text
    return out.startsWith(text.slice(0, maxLength)) && out.length <= maxLength + 40
  })

  it.prop("a known secret never survives scrubbing, wherever it appears", [
    FastCheck.string({ maxLength: 50 }),
    FastCheck.string({ maxLength: 50 }),
    FastCheck.stringMatching(/^[A-Za-z0-9_-]{8,40}$/)
  ], ([before, after, secret]) => {
    const scrub = makeScrubber([Redacted.make(secret)])!
    return !scrub.apply(`${before}${secret}${after}${secret}`).includes(secret)
  })

  it("attribute values: unset options are left off, primitive arrays stay arrays, objects become JSON", () => {
    assert.isUndefined(toAttributeValue(undefined))
    assert.isUndefined(toAttributeValue(null))
    assert.deepStrictEqual(toAttributeValue(["stop"]), ["stop"])
    assert.deepStrictEqual(toAttributeValue([1, 2]), [1, 2])
    assert.strictEqual(toAttributeValue([1, "a"]), `[1,"a"]`)
    assert.strictEqual(toAttributeValue({ a: 1 }), `{"a":1}`)
    assert.strictEqual(toAttributeValue(5n), "5")
  })
})

describe("GenAi.timeToFirstChunk", () => {
  it.effect("annotates the current span with the time to the first chunk, on Effect's clock", () =>
    Effect.gen(function*() {
      const stream = Stream.concat(
        Stream.fromEffect(Effect.as(Effect.sleep("1500 millis"), "Hel")),
        Stream.fromEffect(Effect.as(Effect.sleep("1 second"), "lo"))
      )
      const fiber = yield* Effect.gen(function*() {
        const span = yield* Effect.currentSpan
        const text = yield* stream.pipe(GenAi.timeToFirstChunk, Stream.mkString)
        return { span, text }
      }).pipe(Effect.withSpan("chat m"), Effect.fork)
      yield* TestClock.adjust("3 seconds")
      const { span, text } = yield* fiber.await.pipe(Effect.flatten)
      assert.strictEqual(text, "Hello")
      assert.strictEqual(span.attributes.get("gen_ai.response.time_to_first_chunk"), 1.5)
      assert.strictEqual(span.attributes.get("gen_ai.request.stream"), true)
      assert.strictEqual(span.attributes.get("langfuse.observation.completion_start_time"), "1970-01-01T00:00:01.500Z")
    }))
})
