/**
 * A reply plan as Anthropic Messages writes it: the `message` object, and the event stream
 * (`message_start`, content blocks, `message_delta`, `message_stop`). Reasoning is a `thinking`
 * block; an in-band error is `event: error`.
 */
import type { Event } from "../../plan/events.js"
import type { FinishReason, ReplyPlan } from "../../plan/ReplyPlan.js"
import { eventFrame, json } from "../sse.js"
import type { WholeReply, WireRequest } from "../WireFormat.js"
import { inBandErrorBody, inBandErrorStatus } from "./errors.js"
import type { Echo } from "./request.js"
import * as Option from "effect/Option"
import { parseJsonObject } from "../../json.js"

const stopReason = (reason: FinishReason): string =>
  reason === "tool-calls" ? "tool_use" : reason === "length" ? "max_tokens" : "end_turn"

const toolUseId = (id: string): string => `toolu_${id.startsWith("call_") ? id.slice(5) : id}`

const signature = (plan: ReplyPlan): string => `sig_${plan.id}`

const inputOf = (args: string): unknown => Option.getOrElse(parseJsonObject(args), () => ({}))

const usage = (plan: ReplyPlan, outputTokens: number) => ({
  input_tokens: plan.usage.inputTokens,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  output_tokens: outputTokens,
  service_tier: "standard"
})

const message = (plan: ReplyPlan, content: Array<unknown>, stop: string | null, outputTokens: number) => ({
  id: `msg_${plan.id}`,
  type: "message",
  role: "assistant",
  model: plan.model,
  content,
  stop_reason: stop,
  stop_sequence: null,
  usage: usage(plan, outputTokens)
})

/** The `message` object (an in-band error: the error status and body the API sends instead). */
export const reply = (_req: WireRequest<Echo>, plan: ReplyPlan): WholeReply => {
  if (plan.ending._tag === "Failed") {
    return { status: inBandErrorStatus(plan.ending.error), body: inBandErrorBody(plan.ending.error) }
  }
  const content: Array<unknown> = []
  if (plan.reasoning !== "") content.push({ type: "thinking", thinking: plan.reasoning, signature: signature(plan) })
  if (plan.hasText) content.push({ type: "text", text: plan.text })
  for (const c of plan.toolCalls) content.push({ type: "tool_use", id: toolUseId(c.id), name: c.name, input: inputOf(c.arguments) })
  return { status: 200, body: message(plan, content, stopReason(plan.finishReason), plan.usage.outputTokens) }
}

/** The events of each plan event; content blocks are numbered in order. */
export const encoder = (_req: WireRequest<Echo>, plan: ReplyPlan): (event: Event) => string => {
  let block = -1
  const start = (contentBlock: string) =>
    eventFrame("content_block_start", `{"type":"content_block_start","index":${++block},"content_block":${contentBlock}}`)
  const delta = (d: string) => eventFrame("content_block_delta", `{"type":"content_block_delta","index":${block},"delta":${d}}`)
  const stop = () => eventFrame("content_block_stop", `{"type":"content_block_stop","index":${block}}`)
  return (event) => {
    switch (event._tag) {
      case "Start":
        return eventFrame("message_start", json({ type: "message_start", message: message(plan, [], null, 1) }))
      case "ReasoningStart":
        return start(`{"type":"thinking","thinking":"","signature":""}`)
      case "ReasoningDelta":
        return delta(`{"type":"thinking_delta","thinking":${json(event.delta)}}`)
      case "ReasoningEnd":
        return delta(`{"type":"signature_delta","signature":${json(signature(plan))}}`) + stop()
      case "TextStart":
        return start(`{"type":"text","text":""}`) + eventFrame("ping", `{"type": "ping"}`)
      case "TextDelta":
        return delta(`{"type":"text_delta","text":${json(event.delta)}}`)
      case "ToolCallStart": {
        const call = plan.toolCalls[event.index]!
        return start(`{"type":"tool_use","id":${json(toolUseId(call.id))},"name":${json(call.name)},"input":{}}`)
      }
      case "ToolCallDelta":
        return delta(`{"type":"input_json_delta","partial_json":${json(event.delta)}}`)
      case "TextEnd":
      case "ToolCallEnd":
        return stop()
      case "Finish":
        return eventFrame(
          "message_delta",
          `{"type":"message_delta","delta":{"stop_reason":${json(stopReason(plan.finishReason))},"stop_sequence":null},"usage":{"input_tokens":${plan.usage.inputTokens},"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":${plan.usage.outputTokens}}}`
        ) + eventFrame("message_stop", `{"type":"message_stop"}`)
      case "Error":
        return eventFrame("error", json(inBandErrorBody(event.error)))
    }
  }
}
