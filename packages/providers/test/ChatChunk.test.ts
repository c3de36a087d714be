/**
 * The hand-checked path for streamed chat-completions chunks (`textChunk` in the chat client):
 * what it accepts reads exactly as the schema's decoding of the same chunk, and it leaves
 * everything else to the schema.
 */
import { assert, describe, it } from "@effect/vitest"
import type * as Response from "@effect/ai/Response"
import { FastCheck, Schema } from "effect"
import { ChatStreamState } from "../src/internal/chatParts.js"
import { textChunk } from "../src/internal/chatClient.js"
import { WireReply } from "../src/internal/chatWire.js"

const options = { provider: "openai-compatible", thinkTags: true, startsInReasoning: false, nowMillis: 0, scrub: (s: string) => s }

const partsOf = (chunks: ReadonlyArray<WireReply>) => {
  const state = new ChatStreamState(options)
  const parts: Array<Response.StreamPartEncoded> = []
  const failures = chunks.map((chunk) => state.onChunk(chunk, parts)?._tag)
  return { parts, failures, finish: state.finish(parts)?._tag }
}

const text = FastCheck.oneof(FastCheck.string(), FastCheck.constant(null), FastCheck.constant(undefined))
const chunk = FastCheck.record({
  id: text,
  object: FastCheck.constant("chat.completion.chunk"),
  created: FastCheck.oneof(FastCheck.integer(), FastCheck.constant(null)),
  model: text,
  choices: FastCheck.array(
    FastCheck.record({
      index: FastCheck.oneof(FastCheck.nat(3), FastCheck.constant(null)),
      delta: FastCheck.record({ role: FastCheck.constant("assistant"), content: text, reasoning_content: text, refusal: text }, {
        requiredKeys: []
      }),
      finish_reason: FastCheck.oneof(FastCheck.constantFrom("stop", "length", "content_filter"), FastCheck.constant(null))
    }, { requiredKeys: ["delta"] }),
    { maxLength: 2 }
  )
}, { requiredKeys: ["choices"] })

describe("streamed chat chunks: the hand-checked path", () => {
  it("reads every chunk it accepts exactly as the schema's decoding does", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.array(chunk, { maxLength: 4 }), (chunks) => {
        const json = chunks.map((c) => JSON.parse(JSON.stringify(c)) as unknown)
        const fast = json.map(textChunk)
        for (const f of fast) assert.isDefined(f)
        const decoded = json.map((j) => Schema.decodeUnknownSync(WireReply)(j))
        assert.deepStrictEqual(partsOf(fast as Array<WireReply>), partsOf(decoded))
      })
    )
  })

  it("leaves usage, tool calls, logprobs, errors, whole messages and wrong types to the schema", () => {
    const rejected: ReadonlyArray<unknown> = [
      { choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "a", function: { name: "f", arguments: "{}" } }] } }] },
      { choices: [{ index: 0, delta: { content: "x" }, logprobs: { content: [] } }] },
      { choices: [{ index: 0, delta: { content: "x" }, content_filter_results: {} }] },
      { choices: [{ index: 0, message: { content: "x" } }] },
      { error: { message: "boom" } },
      { choices: [{ index: 0, delta: { content: ["typed", "parts"] } }] },
      { choices: [{ index: "0", delta: { content: "x" } }] },
      { choices: [{ index: 0, delta: { content: "x" }, finish_reason: 1 }] },
      { id: 1, choices: [] },
      { created: "today", choices: [] },
      { x_groq: { usage: {} }, choices: [] },
      { choices: "none" },
      { choices: [null] },
      [],
      "text",
      null
    ]
    for (const json of rejected) assert.isUndefined(textChunk(json), JSON.stringify(json))
  })
})
