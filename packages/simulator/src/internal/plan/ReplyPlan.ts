/**
 * The reply plan: what the three wire formats and the in-process model share about sending a
 * reply: what to say (reasoning, text, tool calls), in which chunks, with which usage and
 * finish reason, the server quirks it carries, and how it ends (in full, cut without its end
 * marker, or with an in-band error). The encodings (`../wire`, `../inProcess`) differ only in
 * how they write a plan down.
 */
import type { ParsedRequest } from "../../Script.js"
import type { Faults } from "../../SimulatorConfig.js"
import type { Reply, ToolCall } from "../answer/answer.js"
import { estimateTokens } from "../answer/request.js"
import { thinkBlock, thought } from "../answer/think.js"
import type { Rng } from "../rng.js"
import { chunkArguments, chunkText } from "./chunks.js"

/** Why a reply ended. */
export type FinishReason = "stop" | "tool-calls" | "length"

/** A tool call with its argument deltas. */
export interface PlannedToolCall extends ToolCall {
  readonly chunks: ReadonlyArray<string>
}

/**
 * An error a server sends inside a reply it already started with 200: OpenAI's
 * `data: {"error": …}`, Anthropic's `event: error`, the Responses API's `error` or
 * `response.failed` (and, not streamed, a 200 body carrying an error).
 */
export interface InBandError {
  readonly kind: "overloaded" | "server"
  readonly message: string
}

/** How a reply ends. */
export type Ending =
  | { readonly _tag: "Complete" }
  /** A stream cut after this many token deltas, without its end marker. */
  | { readonly _tag: "Cut"; readonly afterTokens: number }
  /** An in-band error after this many token deltas (not streamed: an error body). */
  | { readonly _tag: "Failed"; readonly afterTokens: number; readonly error: InBandError }

/** Token counts of a reply. */
export interface Usage {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly reasoningTokens: number
}

/** A reply, ready to be encoded. */
export interface ReplyPlan {
  readonly id: string
  readonly model: string
  /** Unix seconds. */
  readonly created: number
  /** Reasoning sent on its own channel ("" for none). */
  readonly reasoning: string
  readonly reasoningChunks: ReadonlyArray<string>
  readonly text: string
  readonly textChunks: ReadonlyArray<string>
  /** Whether a text block is sent: there is text, or nothing else. */
  readonly hasText: boolean
  readonly toolCalls: ReadonlyArray<PlannedToolCall>
  readonly finishReason: FinishReason
  readonly usage: Usage
  /** Chat completions only: content written as typed parts (Mistral) instead of a string. */
  readonly contentArrays: boolean
  readonly ending: Ending
}

/** Shares (0..1) of replies that get each server quirk (see `SimulatorConfig.Faults`). */
type Quirks = Pick<Required<Faults>, "think" | "fencedJson" | "contentArrays">

/** How a reply is to end, before its length is known. */
export type Cut =
  | { readonly _tag: "None" }
  | { readonly _tag: "Truncate"; readonly at: number }
  | { readonly _tag: "InBandError"; readonly at: number; readonly error: InBandError }

/** Where reasoning can go on each route: a channel of its own, or only the text. */
const hasReasoningChannel = (route: ParsedRequest["route"]): boolean => route !== "responses"

const fence = (json: string, rng: Rng): string =>
  `${rng.chance(0.4) ? "Here is the JSON you asked for:\n\n" : ""}\`\`\`json\n${json}\n\`\`\``

/** What the plan is made of. */
export interface PlanInput {
  readonly reply: Reply
  readonly route: ParsedRequest["route"]
  readonly model: string
  readonly created: number
  readonly inputTokens: number
  readonly maxOutputTokens: number | undefined
  readonly quirks: Quirks
  /** Draws the quirks of this reply. */
  readonly rng: Rng
  readonly cut: Cut
}

/** Plans a reply: its quirks, chunks, usage, finish reason and ending. */
export const make = (input: PlanInput): ReplyPlan => {
  const { quirks, reply, rng } = input
  let text = reply.text
  let reasoning = ""
  if (reply.toolCalls.length === 0 && rng.chance(quirks.think)) {
    const style = rng.next()
    if (style < 0.4 && hasReasoningChannel(input.route)) reasoning = thought(rng)
    else text = thinkBlock(rng, style < 0.85) + text
  }
  if (reply.format === "json" && rng.chance(quirks.fencedJson)) text = fence(text, rng)
  const contentArrays = input.route === "chat.completions" && rng.chance(quirks.contentArrays)

  let finishReason: FinishReason = reply.toolCalls.length > 0 ? "tool-calls" : "stop"
  let outputChars = text.length + reasoning.length
  for (const c of reply.toolCalls) outputChars += c.name.length + c.arguments.length
  let outputTokens = estimateTokens(outputChars)
  const max = input.maxOutputTokens
  if (max !== undefined && max > 0 && outputTokens > max && reply.toolCalls.length === 0) {
    text = text.slice(0, Math.max(0, max * 4 - reasoning.length))
    outputTokens = max
    finishReason = "length"
  }
  const hasText = text !== "" || reply.toolCalls.length === 0
  const reasoningChunks = reasoning === "" ? [] : chunkText(reasoning)
  const textChunks = hasText ? chunkText(text) : []
  const toolCalls = reply.toolCalls.map((c) => ({ ...c, chunks: chunkArguments(c.arguments) }))
  const tokens = reasoningChunks.length + textChunks.length + toolCalls.reduce((n, c) => n + c.chunks.length, 0)
  return {
    id: reply.id,
    model: input.model,
    created: input.created,
    reasoning,
    reasoningChunks,
    text,
    textChunks,
    hasText,
    toolCalls,
    finishReason,
    usage: {
      inputTokens: input.inputTokens,
      outputTokens,
      reasoningTokens: reasoning === "" ? 0 : estimateTokens(reasoning.length)
    },
    contentArrays,
    ending: endingOf(input.cut, tokens)
  }
}

const endingOf = (cut: Cut, tokens: number): Ending => {
  switch (cut._tag) {
    case "None":
      return { _tag: "Complete" }
    case "Truncate":
      // a cut stream keeps at least one token (when it has one) and always loses its end
      return { _tag: "Cut", afterTokens: tokens === 0 ? 0 : Math.max(1, Math.min(tokens - 1, Math.floor(cut.at * tokens))) }
    case "InBandError":
      return { _tag: "Failed", afterTokens: Math.min(Math.max(0, tokens - 1), Math.floor(cut.at * tokens)), error: cut.error }
  }
}
