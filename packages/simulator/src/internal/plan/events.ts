/**
 * A reply plan as the sequence of events every streamed encoding writes down: the start, the
 * reasoning, text and tool-call blocks with their deltas, and the finish; a cut plan stops
 * after its last token delta (no end marker), a failed one with an in-band error. Events are
 * made on demand, so an open stream holds its plan and a position, not its frames.
 */
import type { InBandError, ReplyPlan } from "./ReplyPlan.js"

/** One event of a streamed reply. */
export type Event =
  | { readonly _tag: "Start" }
  | { readonly _tag: "ReasoningStart" }
  | { readonly _tag: "ReasoningDelta"; readonly delta: string }
  | { readonly _tag: "ReasoningEnd" }
  | { readonly _tag: "TextStart" }
  | { readonly _tag: "TextDelta"; readonly delta: string }
  | { readonly _tag: "TextEnd" }
  | { readonly _tag: "ToolCallStart"; readonly index: number }
  | { readonly _tag: "ToolCallDelta"; readonly index: number; readonly delta: string }
  | { readonly _tag: "ToolCallEnd"; readonly index: number }
  | { readonly _tag: "Finish" }
  | { readonly _tag: "Error"; readonly error: InBandError }

/** Events that carry a token (paced one by one). */
export const isToken = (event: Event): boolean =>
  event._tag === "ReasoningDelta" || event._tag === "TextDelta" || event._tag === "ToolCallDelta"

const START: Event = { _tag: "Start" }
const FINISH: Event = { _tag: "Finish" }

/** The events of a plan, in order. */
export function* events(plan: ReplyPlan): Generator<Event, void> {
  const ending = plan.ending
  const limit = ending._tag === "Complete" ? Infinity : ending.afterTokens
  let tokens = 0
  const failure: ReadonlyArray<Event> = ending._tag === "Failed" ? [{ _tag: "Error", error: ending.error }] : []
  yield START
  if (tokens >= limit) return yield* failure
  if (plan.reasoningChunks.length > 0) {
    yield { _tag: "ReasoningStart" }
    for (const delta of plan.reasoningChunks) {
      yield { _tag: "ReasoningDelta", delta }
      if (++tokens >= limit) return yield* failure
    }
    yield { _tag: "ReasoningEnd" }
  }
  if (plan.hasText) {
    yield { _tag: "TextStart" }
    for (const delta of plan.textChunks) {
      yield { _tag: "TextDelta", delta }
      if (++tokens >= limit) return yield* failure
    }
    yield { _tag: "TextEnd" }
  }
  for (let index = 0; index < plan.toolCalls.length; index++) {
    yield { _tag: "ToolCallStart", index }
    for (const delta of plan.toolCalls[index]!.chunks) {
      yield { _tag: "ToolCallDelta", index, delta }
      if (++tokens >= limit) return yield* failure
    }
    yield { _tag: "ToolCallEnd", index }
  }
  yield FINISH
}
