/**
 * A reply plan as OpenAI chat completions writes it: the `chat.completion` object, and the
 * `chat.completion.chunk` stream ending with `data: [DONE]`. Reasoning goes in
 * `reasoning_content`; with typed content arrays (Mistral) content is a list of `text` and
 * `thinking` parts, in replies and in deltas.
 */
import type { Event } from "../../plan/events.js"
import type { FinishReason, ReplyPlan } from "../../plan/ReplyPlan.js"
import { inBandErrorBody } from "../openai.js"
import { dataFrame, json } from "../sse.js"
import type { WholeReply, WireRequest } from "../WireFormat.js"
import type { Echo } from "./request.js"

const finishReason = (reason: FinishReason): string =>
  reason === "tool-calls" ? "tool_calls" : reason === "length" ? "length" : "stop"

const usage = (plan: ReplyPlan) => ({
  prompt_tokens: plan.usage.inputTokens,
  completion_tokens: plan.usage.outputTokens,
  total_tokens: plan.usage.inputTokens + plan.usage.outputTokens,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: plan.usage.reasoningTokens,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0
  }
})

const textPart = (text: string) => ({ type: "text", text })
const thinkingPart = (text: string) => ({ type: "thinking", thinking: [textPart(text)] })

/** The message's content: a string, or typed parts; `null` for tool calls alone. */
const content = (plan: ReplyPlan): unknown => {
  if (plan.contentArrays) {
    const parts: Array<unknown> = []
    if (plan.reasoning !== "") parts.push(thinkingPart(plan.reasoning))
    if (plan.hasText) parts.push(textPart(plan.text))
    return parts
  }
  return plan.hasText ? plan.text : null
}

/** The `chat.completion` object (an in-band error: a 200 body carrying the error). */
export const reply = (_req: WireRequest<Echo>, plan: ReplyPlan): WholeReply => {
  if (plan.ending._tag === "Failed") return { status: 200, body: inBandErrorBody(plan.ending.error) }
  return {
    status: 200,
    body: {
      id: `chatcmpl-${plan.id}`,
      object: "chat.completion",
      created: plan.created,
      model: plan.model,
      choices: [{
        index: 0,
        message: {
          role: "assistant",
          content: content(plan),
          ...(plan.reasoning !== "" && !plan.contentArrays ? { reasoning_content: plan.reasoning } : {}),
          refusal: null,
          annotations: [],
          ...(plan.toolCalls.length > 0
            ? {
              tool_calls: plan.toolCalls.map((c) => ({
                id: c.id,
                type: "function",
                function: { name: c.name, arguments: c.arguments }
              }))
            }
            : {})
        },
        logprobs: null,
        finish_reason: finishReason(plan.finishReason)
      }],
      usage: usage(plan),
      service_tier: "default",
      system_fingerprint: "fp_sim"
    }
  }
}

/** The `chat.completion.chunk` frames of each event; only the delta is serialized per token. */
export const encoder = (req: WireRequest<Echo>, plan: ReplyPlan): (event: Event) => string => {
  const usageField = req.echo.includeUsage ? ",\"usage\":null" : ""
  const head =
    `{"id":"chatcmpl-${plan.id}","object":"chat.completion.chunk","created":${plan.created},"model":${
      json(plan.model)
    },"service_tier":"default","system_fingerprint":"fp_sim","choices":[`
  const chunk = (delta: string, finish = "null") =>
    dataFrame(`${head}{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish}}]${usageField}}`)
  return (event) => {
    switch (event._tag) {
      case "Start":
        // content starts as null when the reply is tool calls alone, as in the whole reply
        return chunk(`{"role":"assistant","content":${plan.hasText ? "\"\"" : "null"},"refusal":null}`)
      case "ReasoningDelta":
        return chunk(
          plan.contentArrays
            ? `{"content":${json([thinkingPart(event.delta)])}}`
            : `{"reasoning_content":${json(event.delta)}}`
        )
      case "TextDelta":
        return chunk(plan.contentArrays ? `{"content":${json([textPart(event.delta)])}}` : `{"content":${json(event.delta)}}`)
      case "ToolCallStart": {
        const call = plan.toolCalls[event.index]!
        return chunk(
          `{"tool_calls":[{"index":${event.index},"id":${json(call.id)},"type":"function","function":{"name":${
            json(call.name)
          },"arguments":""}}]}`
        )
      }
      case "ToolCallDelta":
        return chunk(`{"tool_calls":[{"index":${event.index},"function":{"arguments":${json(event.delta)}}}]}`)
      case "Finish": {
        const usageChunk = req.echo.includeUsage ? dataFrame(`${head}],"usage":${json(usage(plan))}}`) : ""
        return `${chunk("{}", json(finishReason(plan.finishReason)))}${usageChunk}data: [DONE]\n\n`
      }
      case "Error":
        return dataFrame(json(inBandErrorBody(event.error)))
      default:
        return ""
    }
  }
}
