/**
 * Laws of the reply plan and its encodings: every plan encodes to valid wire bytes in the three
 * formats (checked against the `@effect/ai-openai` / `@effect/ai-anthropic` schemas where those
 * describe the format) and reads back, whole and streamed, as the same text, reasoning and tool
 * calls; a cut stream has no end marker and an in-band error is seen as one.
 */
import { Response, Toolkit } from "@effect/ai"
import { AnthropicClient, Generated as AnthropicGenerated } from "@effect/ai-anthropic"
import { Generated as OpenAiGenerated, OpenAiClient } from "@effect/ai-openai"
import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc, Schema } from "effect"
import type { ToolCall } from "../src/internal/answer/answer.js"
import * as Parts from "../src/internal/inProcess/parts.js"
import { events } from "../src/internal/plan/events.js"
import * as ReplyPlan from "../src/internal/plan/ReplyPlan.js"
import { makeRng } from "../src/internal/rng.js"
import * as ChatCompletions from "../src/internal/wire/chatCompletions/format.js"
import * as Messages from "../src/internal/wire/messages/format.js"
import * as Responses from "../src/internal/wire/responses/format.js"
import type { WireFormat } from "../src/internal/wire/WireFormat.js"
import { parseSse } from "./http.js"
import * as Decode from "./wireDecode.js"

const tricky = fc.array(fc.constantFrom("a", "B", " ", "  ", "\n", "é", "😀", "\"", "\\", "{", "}", "[[ ## x ## ]]", "</think>", "data: "), {
  maxLength: 40
}).map((parts) => parts.join(""))
const text = fc.oneof(fc.fullUnicodeString({ maxLength: 60 }), tricky)

const toolCalls: fc.Arbitrary<Array<ToolCall>> = fc.array(
  fc.record({
    name: fc.stringMatching(/^[a-z_]{1,12}$/),
    args: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })
  }),
  { maxLength: 2 }
).map((calls) => calls.map((c, i) => ({ id: `call_${i}`, name: c.name, arguments: JSON.stringify(c.args) })))

const cut: fc.Arbitrary<ReplyPlan.Cut> = fc.oneof(
  fc.constant<ReplyPlan.Cut>({ _tag: "None" }),
  fc.double({ min: 0, max: 0.999, noNaN: true }).map((at): ReplyPlan.Cut => ({ _tag: "Truncate", at })),
  fc.record({ at: fc.double({ min: 0, max: 0.999, noNaN: true }), kind: fc.constantFrom("overloaded" as const, "server" as const) })
    .map(({ at, kind }): ReplyPlan.Cut => ({ _tag: "InBandError", at, error: { kind, message: "Overloaded" } }))
)

const input = fc.record({
  text,
  toolCalls,
  format: fc.constantFrom("json" as const, "markers" as const, "text" as const),
  think: fc.constantFrom(0, 1),
  contentArrays: fc.constantFrom(0, 1),
  fencedJson: fc.constantFrom(0, 1),
  seed: fc.integer(),
  cut
})

type Input = typeof input extends fc.Arbitrary<infer A> ? A : never

const planFor = (route: ReplyPlan.PlanInput["route"], i: Input): ReplyPlan.ReplyPlan =>
  ReplyPlan.make({
    reply: { id: "abc", text: i.text, toolCalls: i.toolCalls, format: i.format, drifted: false },
    route,
    model: "sim-1",
    created: 1_700_000_000,
    inputTokens: 10,
    maxOutputTokens: undefined,
    quirks: { think: i.think, fencedJson: i.fencedJson, contentArrays: i.contentArrays },
    rng: makeRng(i.seed),
    cut: i.cut
  })

const headers = { "anthropic-version": "2023-06-01" }
const user = [{ role: "user", content: "hi" }]

const streamed = <Echo>(format: WireFormat<Echo>, body: unknown, plan: ReplyPlan.ReplyPlan): string => {
  const encode = format.encoder(format.parse(body, headers), plan)
  let out = ""
  for (const event of events(plan)) out += encode(event)
  return out
}

const decodes = <A, I>(schema: Schema.Schema<A, I>, json: string): boolean =>
  Schema.decodeUnknownEither(Schema.parseJson(schema))(json)._tag === "Right"

/** What a client must read back from a plan's reply. */
const expectRead = (plan: ReplyPlan.ReplyPlan, read: Decode.Decoded, streamedReply: boolean, hasReasoningChannel: boolean) => {
  const ending = plan.ending._tag
  if (streamedReply && ending === "Failed" || !streamedReply && ending === "Failed") {
    assert.isTrue(read.error, "an in-band error is read as one")
    assert.isFalse(read.ended)
    return
  }
  if (streamedReply && ending === "Cut") {
    assert.isFalse(read.ended, "a cut stream has no end marker")
    assert.isFalse(read.error)
    assert.isTrue(plan.text.startsWith(read.text))
    return
  }
  assert.isTrue(read.ended)
  assert.isFalse(read.error)
  assert.strictEqual(read.text, plan.hasText ? plan.text : "")
  if (hasReasoningChannel) assert.strictEqual(read.reasoning, plan.reasoning)
  assert.deepStrictEqual(read.toolCalls.map((c) => c.name), plan.toolCalls.map((c) => c.name))
  read.toolCalls.forEach((c, i) => assert.deepStrictEqual(JSON.parse(c.arguments), JSON.parse(plan.toolCalls[i]!.arguments)))
}

describe("reply plan encodings", () => {
  it.prop("chat completions: valid chunks and bodies that read back as the plan", [input], ([i]) => {
    const plan = planFor("chat.completions", i)
    const body = { model: "m", messages: user, stream: true, stream_options: { include_usage: true } }
    const sse = streamed(ChatCompletions.format, body, plan)
    for (const event of parseSse(sse)) if (event.data !== "[DONE]") JSON.parse(event.data)
    expectRead(plan, Decode.chatStream(sse), true, true)
    const whole = ChatCompletions.format.reply(ChatCompletions.format.parse({ model: "m", messages: user }, headers), plan)
    const json = JSON.stringify(whole.body)
    expectRead(plan, Decode.chatWhole(JSON.parse(json)), false, true)
    if (plan.ending._tag !== "Failed" && !plan.contentArrays) {
      assert.isTrue(decodes(OpenAiGenerated.CreateChatCompletionResponse, json), json)
    }
  })

  it.prop("Responses: every event and body decodes with @effect/ai-openai's schemas and reads back as the plan", [input], ([i]) => {
    const plan = planFor("responses", i)
    const sse = streamed(Responses.format, { model: "m", input: "hi", stream: true }, plan)
    const frames = parseSse(sse)
    frames.forEach((event, n) => {
      assert.isTrue(decodes(OpenAiClient.ResponseStreamEvent, event.data), event.data)
      assert.strictEqual((JSON.parse(event.data) as { sequence_number: number }).sequence_number, n)
    })
    expectRead(plan, Decode.responsesStream(sse), true, false)
    const whole = Responses.format.reply(Responses.format.parse({ model: "m", input: "hi" }, headers), plan)
    const json = JSON.stringify(whole.body)
    assert.isTrue(decodes(OpenAiGenerated.Response, json), json)
    expectRead(plan, Decode.responsesWhole(JSON.parse(json)), false, false)
  })

  it.prop("Messages: every event and body decodes with @effect/ai-anthropic's schemas and reads back as the plan", [input], ([i]) => {
    const plan = planFor("messages", i)
    const body = { model: "c", max_tokens: 100, messages: user }
    const sse = streamed(Messages.format, { ...body, stream: true }, plan)
    for (const event of parseSse(sse)) {
      if (event.event !== "error") assert.isTrue(decodes(AnthropicClient.MessageStreamEvent, event.data), event.data)
    }
    expectRead(plan, Decode.messagesStream(sse), true, true)
    const whole = Messages.format.reply(Messages.format.parse(body, headers), plan)
    const json = JSON.stringify(whole.body)
    if (plan.ending._tag !== "Failed") assert.isTrue(decodes(AnthropicGenerated.BetaMessage, json), json)
    else assert.include([500, 529], whole.status)
    expectRead(plan, Decode.messagesWhole(JSON.parse(json)), false, true)
  })

  it.prop("in-process: the stream parts decode with @effect/ai's schema and their deltas join to the plan", [input], ([i]) => {
    const plan = planFor("in-process", { ...i, toolCalls: [] })
    const encode = Parts.encoder(plan, 0)
    const parts = [...events(plan)].flatMap(encode)
    const decoded = Schema.decodeUnknownSync(Schema.Array(Response.StreamPart(Toolkit.empty)))(parts)
    const joined = (type: string) =>
      decoded.flatMap((p) => (p.type === type && "delta" in p ? [p.delta] : [])).join("")
    const finished = decoded.some((p) => p.type === "finish")
    const failed = decoded.some((p) => p.type === "error")
    if (plan.ending._tag === "Complete") {
      assert.isTrue(finished && !failed)
      assert.strictEqual(joined("text-delta"), plan.text)
      assert.strictEqual(joined("reasoning-delta"), plan.reasoning)
    } else {
      assert.isFalse(finished, "a cut or failed stream has no finish part")
      assert.strictEqual(failed, plan.ending._tag === "Failed")
    }
  })
})
