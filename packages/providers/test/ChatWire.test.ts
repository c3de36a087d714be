/**
 * The hand check of a chat-completions response accepts exactly what the Schema accepts, and
 * the parts read from an accepted body are the same as from the Schema's decoding of it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, Schema } from "effect"
import { decodeResponse, makeParts, WireResponse } from "../src/internal/chatWire.js"

const bySchema = Schema.decodeUnknownEither(WireResponse)

// Valid bodies (through JSON, as they arrive), and near misses: one field of a valid body
// replaced by an arbitrary JSON value.
const valid = Arbitrary.make(WireResponse).map((r) => JSON.parse(JSON.stringify(r)) as unknown)
const jsonValue = FastCheck.jsonValue({ maxDepth: 2 })
const paths: ReadonlyArray<ReadonlyArray<string | number>> = [
  ["id"], ["model"], ["created"], ["choices"], ["choices", 0], ["choices", 0, "message"], ["choices", 0, "finish_reason"],
  ["choices", 0, "message", "content"], ["choices", 0, "message", "refusal"], ["choices", 0, "message", "reasoning"],
  ["choices", 0, "message", "reasoning_content"], ["choices", 0, "message", "tool_calls"],
  ["choices", 0, "message", "tool_calls", 0], ["choices", 0, "message", "tool_calls", 0, "function"],
  ["choices", 0, "message", "tool_calls", 0, "function", "arguments"], ["usage"], ["usage", "prompt_tokens"],
  ["usage", "prompt_tokens_details"], ["usage", "completion_tokens_details", "reasoning_tokens"]
]
const mutated = FastCheck.tuple(valid, FastCheck.constantFrom(...paths), jsonValue).map(([generated, path, value]) => {
  // A copy: generated values are shared with shrinking.
  const body = structuredClone(generated)
  let target: unknown = body
  for (const key of path.slice(0, -1)) {
    if (typeof target !== "object" || target === null) return body
    target = (target as Record<string | number, unknown>)[key]
  }
  if (typeof target === "object" && target !== null) (target as Record<string | number, unknown>)[path[path.length - 1]!] = value
  return body
})

describe("chat-completions response check", () => {
  it("accepts what the Schema accepts, and reads the same parts", () =>
    FastCheck.assert(
      FastCheck.property(FastCheck.oneof(valid, mutated, jsonValue), (body) => {
        const fast = decodeResponse(body)
        const slow = bySchema(body)
        assert.strictEqual(Either.isRight(fast), Either.isRight(slow))
        if (Either.isRight(fast) && Either.isRight(slow)) {
          assert.deepStrictEqual(makeParts(fast.right), makeParts(slow.right))
        }
      }),
      { numRuns: 2000 }
    ))

  it("ignores a creation time out of Date's range instead of throwing", () => {
    const result = decodeResponse({ created: 8.64e15, choices: [{ message: { content: "hi" }, finish_reason: "stop" }] })
    assert(Either.isRight(result))
    const parts = makeParts(result.right)
    assert(Either.isRight(parts))
    assert.deepStrictEqual(parts.right[0], { type: "response-metadata" })
  })

  it("rejects a malformed body with the Schema's error", () => {
    const result = decodeResponse({ choices: [{ message: { content: 42 } }] })
    assert(Either.isLeft(result))
    assert.include(result.left.message, "content")
  })
})
