/**
 * A reply plan as the OpenAI Responses API writes it: the `response` object, and its typed
 * event stream (`response.created` … `response.completed`), every event numbered. An in-band
 * error is an `error` event (overloaded) or `response.failed` (a server error).
 */
import type { Event } from "../../plan/events.js"
import type { InBandError, ReplyPlan } from "../../plan/ReplyPlan.js"
import { eventFrame, json } from "../sse.js"
import type { WholeReply, WireRequest } from "../WireFormat.js"
import type { Echo } from "./request.js"

const usage = (plan: ReplyPlan) => ({
  input_tokens: plan.usage.inputTokens,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: plan.usage.outputTokens,
  output_tokens_details: { reasoning_tokens: plan.usage.reasoningTokens },
  total_tokens: plan.usage.inputTokens + plan.usage.outputTokens
})

const statusOf = (plan: ReplyPlan): "completed" | "incomplete" => plan.finishReason === "length" ? "incomplete" : "completed"

const outputText = (text: string) => ({ type: "output_text", annotations: [], logprobs: [], text })

const messageItem = (plan: ReplyPlan, status: string) => ({
  id: `msg_${plan.id}`,
  type: "message",
  status,
  content: status === "in_progress" ? [] : [outputText(plan.text)],
  role: "assistant"
})

const callItem = (plan: ReplyPlan, index: number, status: string) => {
  const call = plan.toolCalls[index]!
  return {
    id: `fc_${plan.id}${index === 0 ? "" : `_${index}`}`,
    type: "function_call",
    status,
    arguments: status === "in_progress" ? "" : call.arguments,
    call_id: call.id,
    name: call.name
  }
}


const outputItems = (plan: ReplyPlan): Array<unknown> => [
  ...(plan.hasText ? [messageItem(plan, statusOf(plan))] : []),
  ...plan.toolCalls.map((_, i) => callItem(plan, i, "completed"))
]

type Status = "in_progress" | "completed" | "incomplete" | "failed"

const responseObject = (req: WireRequest<Echo>, plan: ReplyPlan, status: Status, error?: InBandError) => {
  const e = req.echo
  const done = status === "completed" || status === "incomplete"
  return {
    id: `resp_${plan.id}`,
    object: "response",
    created_at: plan.created,
    status,
    background: false,
    error: error === undefined ? null : { code: "server_error", message: error.message },
    incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
    instructions: e.instructions,
    max_output_tokens: e.maxOutputTokens,
    max_tool_calls: null,
    model: plan.model,
    output: done ? outputItems(plan) : [],
    parallel_tool_calls: e.parallelToolCalls,
    previous_response_id: e.previousResponseId,
    prompt_cache_key: null,
    reasoning: { effort: null, summary: null },
    safety_identifier: null,
    service_tier: "default",
    store: e.store,
    temperature: e.temperature,
    text: { format: e.textFormat, verbosity: "medium" },
    tool_choice: e.toolChoice,
    tools: e.tools,
    top_logprobs: 0,
    top_p: e.topP,
    truncation: "disabled",
    usage: done ? usage(plan) : null,
    user: e.user,
    metadata: e.metadata
  }
}

/** The `response` object (an in-band error: a `failed` response). */
export const reply = (req: WireRequest<Echo>, plan: ReplyPlan): WholeReply =>
  plan.ending._tag === "Failed"
    ? { status: 200, body: responseObject(req, plan, "failed", plan.ending.error) }
    : { status: 200, body: responseObject(req, plan, statusOf(plan)) }

/** The typed events of each plan event, numbered in order. */
export const encoder = (req: WireRequest<Echo>, plan: ReplyPlan): (event: Event) => string => {
  let seq = 0
  const frame = (type: string, rest: string) => eventFrame(type, `{"type":"${type}","sequence_number":${seq++},${rest}}`)
  const itemId = `msg_${plan.id}`
  const textAt = `"item_id":"${itemId}","output_index":0,"content_index":0`
  const outputIndex = (call: number) => (plan.hasText ? 1 : 0) + call
  return (event) => {
    switch (event._tag) {
      case "Start": {
        const response = json(responseObject(req, plan, "in_progress"))
        return frame("response.created", `"response":${response}`) + frame("response.in_progress", `"response":${response}`)
      }
      case "TextStart":
        return frame("response.output_item.added", `"output_index":0,"item":${json(messageItem(plan, "in_progress"))}`) +
          frame("response.content_part.added", `${textAt},"part":${json(outputText(""))}`)
      case "TextDelta":
        return frame("response.output_text.delta", `${textAt},"delta":${json(event.delta)},"logprobs":[]`)
      case "TextEnd":
        return frame("response.output_text.done", `${textAt},"text":${json(plan.text)},"logprobs":[]`) +
          frame("response.content_part.done", `${textAt},"part":${json(outputText(plan.text))}`) +
          frame("response.output_item.done", `"output_index":0,"item":${json(messageItem(plan, statusOf(plan)))}`)
      case "ToolCallStart": {
        const item = callItem(plan, event.index, "in_progress")
        return frame("response.output_item.added", `"output_index":${outputIndex(event.index)},"item":${json(item)}`)
      }
      case "ToolCallDelta": {
        const item = callItem(plan, event.index, "in_progress")
        return frame(
          "response.function_call_arguments.delta",
          `"item_id":"${item.id}","output_index":${outputIndex(event.index)},"delta":${json(event.delta)}`
        )
      }
      case "ToolCallEnd": {
        const item = callItem(plan, event.index, "completed")
        const index = outputIndex(event.index)
        return frame(
          "response.function_call_arguments.done",
          `"item_id":"${item.id}","output_index":${index},"arguments":${json(item.arguments)}`
        ) + frame("response.output_item.done", `"output_index":${index},"item":${json(item)}`)
      }
      case "Finish": {
        const status = statusOf(plan)
        const type = status === "incomplete" ? "response.incomplete" : "response.completed"
        return frame(type, `"response":${json(responseObject(req, plan, status))}`)
      }
      case "Error":
        return event.error.kind === "overloaded"
          ? frame("error", `"code":"server_error","message":${json(event.error.message)},"param":null`)
          : frame("response.failed", `"response":${json(responseObject(req, plan, "failed", event.error))}`)
      default:
        return ""
    }
  }
}
