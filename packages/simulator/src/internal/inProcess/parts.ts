/**
 * A reply plan as `@effect/ai` response parts (encoded, for `LanguageModel.make` to decode):
 * the parts of a whole reply, and the stream parts of each plan event.
 */
import type * as Response from "@effect/ai/Response"
import type { Event } from "../plan/events.js"
import type { FinishReason, InBandError, ReplyPlan } from "../plan/ReplyPlan.js"
import * as Option from "effect/Option"
import { parseJson } from "../json.js"

const metadata = (plan: ReplyPlan, nowMillis: number): Response.ResponseMetadataPartEncoded => ({
  type: "response-metadata",
  id: plan.id,
  modelId: plan.model,
  timestamp: new Date(nowMillis).toISOString()
})

const finish = (plan: ReplyPlan, reason: FinishReason): Response.FinishPartEncoded => ({
  type: "finish",
  reason,
  usage: {
    inputTokens: plan.usage.inputTokens,
    outputTokens: plan.usage.outputTokens,
    totalTokens: plan.usage.inputTokens + plan.usage.outputTokens,
    ...(plan.usage.reasoningTokens > 0 ? { reasoningTokens: plan.usage.reasoningTokens } : {})
  }
})

/** An in-band error as an error part (what the `@effect/ai` providers emit for one). */
const errorPart = (error: InBandError): Response.ErrorPartEncoded => ({
  type: "error",
  error: { type: error.kind === "overloaded" ? "overloaded_error" : "server_error", message: error.message }
})

const parseArguments = (args: string): unknown => Option.getOrElse(parseJson(args), () => args)

/** The parts of a whole reply (one without an in-band error: see `model.ts`). */
export const whole = (plan: ReplyPlan, nowMillis: number): Array<Response.PartEncoded> => {
  const parts: Array<Response.PartEncoded> = [metadata(plan, nowMillis)]
  if (plan.reasoning !== "") parts.push({ type: "reasoning", text: plan.reasoning })
  if (plan.hasText) parts.push({ type: "text", text: plan.text })
  for (const call of plan.toolCalls) {
    parts.push({ type: "tool-call", id: call.id, name: call.name, params: parseArguments(call.arguments) })
  }
  parts.push(finish(plan, plan.finishReason))
  return parts
}

const REASONING_ID = "reasoning-0"
const TEXT_ID = "text-0"

/** The stream parts of each event of a plan. */
export const encoder = (plan: ReplyPlan, nowMillis: number) =>
(event: Event): ReadonlyArray<Response.StreamPartEncoded> => {
  switch (event._tag) {
    case "Start":
      return [metadata(plan, nowMillis)]
    case "ReasoningStart":
      return [{ type: "reasoning-start", id: REASONING_ID }]
    case "ReasoningDelta":
      return [{ type: "reasoning-delta", id: REASONING_ID, delta: event.delta }]
    case "ReasoningEnd":
      return [{ type: "reasoning-end", id: REASONING_ID }]
    case "TextStart":
      return [{ type: "text-start", id: TEXT_ID }]
    case "TextDelta":
      return [{ type: "text-delta", id: TEXT_ID, delta: event.delta }]
    case "TextEnd":
      return [{ type: "text-end", id: TEXT_ID }]
    case "ToolCallStart": {
      const call = plan.toolCalls[event.index]!
      return [{ type: "tool-params-start", id: call.id, name: call.name }]
    }
    case "ToolCallDelta":
      return [{ type: "tool-params-delta", id: plan.toolCalls[event.index]!.id, delta: event.delta }]
    case "ToolCallEnd": {
      const call = plan.toolCalls[event.index]!
      return [
        { type: "tool-params-end", id: call.id },
        { type: "tool-call", id: call.id, name: call.name, params: parseArguments(call.arguments) }
      ]
    }
    case "Finish":
      return [finish(plan, plan.finishReason)]
    case "Error":
      return [errorPart(event.error)]
  }
}
