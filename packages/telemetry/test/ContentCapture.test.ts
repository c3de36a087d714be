import * as Prompt from "@effect/ai/Prompt"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck, Redacted, Stream } from "effect"
import * as TestClock from "effect/TestClock"
import type { ContentCapture } from "../src/index.js"
import { GenAi } from "../src/index.js"
import { toAttributeValue } from "../src/internal/attributes.js"
import * as Content from "../src/internal/content.js"
import { stringifyWithin, toJson } from "../src/internal/json.js"
import * as Messages from "../src/internal/messages.js"

const info: ContentCapture.Info = { span: "module", direction: "input", name: "QA" }

const render = (options: ContentCapture.Options, values: Array<{ value: unknown; info: ContentCapture.Info }>, attributes = new Map<string, unknown>()) =>
  Content.render(Content.makePolicy({ capture: true, ...options }, [Redacted.make("local-secret-value-123")])!, { values, call: undefined }, attributes)

// Any JSON value, with long strings, many items and text that needs escaping.
const jsonValue = FastCheck.letrec((tie) => ({
  value: FastCheck.oneof(
    { depthSize: "small" },
    FastCheck.string({ maxLength: 400, unit: "binary" }),
    FastCheck.integer(),
    FastCheck.boolean(),
    FastCheck.constant(null),
    FastCheck.array(tie("value"), { maxLength: 8 }),
    FastCheck.dictionary(FastCheck.string({ maxLength: 8 }), tie("value"), { maxKeys: 6 })
  )
})).value

describe("content capture", () => {
  it.prop("a value cut to the maximum length is still valid JSON, and no longer than the maximum", [
    jsonValue,
    FastCheck.integer({ min: 64, max: 600 })
  ], ([value, maxLength]) => {
    const text = stringifyWithin(toJson(value) ?? null, maxLength)
    JSON.parse(text)
    assert.isAtMost(text.length, maxLength)
    // Not cut when it fits.
    const whole = JSON.stringify(value)
    if (whole.length <= maxLength) assert.strictEqual(text, whole)
  })

  it("a long prompt keeps its structure: strings are cut, not the JSON text", () => {
    const long = "word ".repeat(2000)
    const prompt = Prompt.make([
      { role: "system", content: "Be brief." },
      { role: "user", content: [{ type: "text", text: long }] },
      { role: "assistant", content: [{ type: "tool-call", id: "c1", name: "lookup", params: { q: long }, providerExecuted: false }] },
      { role: "tool", content: [{ type: "tool-result", id: "c1", name: "lookup", result: { found: true }, isFailure: false, providerExecuted: false }] }
    ])
    const out = render({ maxLength: 1000 }, [{ value: prompt, info: { span: "lm", direction: "input", name: "m" } }])
    assert.deepStrictEqual(JSON.parse(out["gen_ai.system_instructions"]!), [{ type: "text", content: "Be brief." }])
    const text = out["gen_ai.input.messages"]!
    assert.isAtMost(text.length, 1000)
    const messages = JSON.parse(text) as Array<GenAi.InputMessage>
    assert.deepStrictEqual(messages.map((m) => m.role), ["user", "assistant", "tool"])
    const first = messages[0]!.parts[0]!
    assert.strictEqual(first.type, "text")
    assert.match(first.type === "text" ? first.content : "", /^word word .*…\[truncated \d+ chars\]$/)
    assert.deepStrictEqual(messages[2]!.parts[0], { type: "tool_call_response", id: "c1", response: { found: true } })
    const call = messages[1]!.parts[0]!
    assert.strictEqual(call.type === "tool_call" ? call.name : "", "lookup")
  })

  it("output messages carry the finish reason in the conventions' vocabulary", () => {
    const out = render({}, [{ value: "It shipped.", info: { span: "lm", direction: "output", name: "m" } }], new Map([["gen_ai.response.finish_reasons", ["content-filter"]]]))
    assert.deepStrictEqual(JSON.parse(out["gen_ai.output.messages"]!), [
      { role: "assistant", parts: [{ type: "text", content: "It shipped." }], finish_reason: "content_filter" }
    ])
  })

  it("a response's parts: text, reasoning and tool calls in order", () => {
    const messages = Messages.fromResponse([
      { type: "reasoning-delta", id: "r", delta: "Think" },
      { type: "text-delta", id: "t", delta: "Let me " },
      { type: "text-delta", id: "t", delta: "look." },
      { type: "tool-call", id: "c1", name: "lookup", params: { id: 1 }, providerExecuted: false },
      { type: "finish", reason: "tool-calls" }
    ] as unknown as Messages.ResponseParts)
    assert.deepStrictEqual(messages, [{
      role: "assistant",
      parts: [
        { type: "reasoning", content: "Think" },
        { type: "text", content: "Let me look." },
        { type: "tool_call", id: "c1", name: "lookup", arguments: { id: 1 } }
      ],
      finish_reason: "tool_call"
    }])
  })

  it("tool arguments and results: objects as JSON, JSON text kept as JSON, plain text as text", () => {
    const out = render({}, [
      { value: { id: "A1" }, info: { span: "tool", direction: "input", name: "lookup" } },
      { value: `{"status":"shipped"}`, info: { span: "tool", direction: "output", name: "lookup" } }
    ])
    assert.strictEqual(out["gen_ai.tool.call.arguments"], `{"id":"A1"}`)
    assert.strictEqual(out["gen_ai.tool.call.result"], `{"status":"shipped"}`)
    const plain = render({}, [{ value: "rainy, 57°F", info: { span: "tool", direction: "output", name: "weather" } }])
    assert.strictEqual(plain["gen_ai.tool.call.result"], "rainy, 57°F")
  })

  it("every string is redacted (core's Redaction and the known secrets), then masked; the JSON stays valid", () => {
    const out = render({ mask: (text, i) => `${text.replaceAll(/\d{3}-\d{4}/g, "***-****")}` + (i.direction === "input" ? "" : "!") }, [
      {
        value: { note: `key sk-ant-api03-abcdefghijklmnop1234 call 555-1234`, url: "http://ada:hunter2@proxy/x", mine: `a "local-secret-value-123" b` },
        info
      }
    ])
    assert.deepStrictEqual(JSON.parse(out["langfuse.observation.input"]!), {
      note: "key sk-[REDACTED] call ***-****",
      url: "http://[REDACTED]@proxy/x",
      mine: `a "[REDACTED]" b`
    })
  })

  it("values render as JSON does: bigints as strings, Redacted hidden, cycles marked", () => {
    const cyclic: Record<string, unknown> = { name: "loop" }
    cyclic["self"] = cyclic
    const out = render({}, [{ value: { n: 10n, key: Redacted.make("hidden"), cyclic, skip: undefined }, info }])
    assert.deepStrictEqual(JSON.parse(out["langfuse.observation.input"]!), {
      n: "10",
      key: "<redacted>",
      cyclic: { name: "loop", self: "[Circular]" }
    })
  })

  it("capture is opt-in: off by default and when turned off, nothing is kept (the policy is absent)", () => {
    assert.isUndefined(Content.makePolicy({ capture: false }, []))
    assert.isUndefined(Content.makePolicy({}, []))
    assert.isUndefined(Content.makePolicy({ maxLength: 100 }, []))
    assert.isDefined(Content.makePolicy({ capture: true }, []))
  })

  it("attribute values: unset options are left off, primitive arrays stay arrays (the empty one too), objects become JSON", () => {
    assert.isUndefined(toAttributeValue(undefined))
    assert.isUndefined(toAttributeValue(null))
    assert.deepStrictEqual(toAttributeValue(["stop"]), ["stop"])
    assert.deepStrictEqual(toAttributeValue([]), [])
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

  it.effect("a stream that fails before its first chunk was still a streamed request", () =>
    Effect.gen(function*() {
      const span = yield* Effect.gen(function*() {
        const span = yield* Effect.currentSpan
        yield* Stream.fail("refused").pipe(GenAi.timeToFirstChunk, Stream.runDrain, Effect.ignore)
        return span
      }).pipe(Effect.withSpan("chat m"))
      assert.strictEqual(span.attributes.get("gen_ai.request.stream"), true)
      assert.isFalse(span.attributes.has("gen_ai.response.time_to_first_chunk"))
    }))
})
