/**
 * Turns the chunks of a streamed `/v1/chat/completions` response into
 * `@effect/ai` stream parts.
 *
 * @internal
 */
import * as AiError from "@effect/ai/AiError"
import type * as Response from "@effect/ai/Response"
import * as Either from "effect/Either"
import type { WireChunk, WireUsage } from "./chatWire.js"
import { decodeChunk, finishReason, parseToolParams, timestampOf, usageOf } from "./chatWire.js"

const isNullableString = (u: unknown): u is string | null | undefined =>
  u === undefined || u === null || typeof u === "string"

/**
 * Whether a parsed event is the common shape of a streamed text delta: at most one choice
 * whose delta has only `content`, no usage, tool calls, reasoning nor error. Such an event is
 * a valid `WireChunk` as it is; checking it by hand costs a few property reads where the
 * Schema decoder (kept for every other shape) costs tens of microseconds per token.
 */
const isPlainTextChunk = (u: unknown): u is WireChunk => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const chunk = u as Record<string, unknown>
  if (chunk.error !== undefined || (chunk.usage !== undefined && chunk.usage !== null)) return false
  if (chunk.id !== undefined && typeof chunk.id !== "string") return false
  if (chunk.model !== undefined && typeof chunk.model !== "string") return false
  if (chunk.created !== undefined && chunk.created !== null && typeof chunk.created !== "number") return false
  const choices = chunk.choices
  if (choices === undefined || choices === null) return true
  if (!Array.isArray(choices) || choices.length > 1) return false
  if (choices.length === 0) return true
  const choice: unknown = choices[0]
  if (typeof choice !== "object" || choice === null) return false
  const c = choice as Record<string, unknown>
  if (!isNullableString(c.finish_reason)) return false
  const delta = c.delta
  if (delta === undefined || delta === null) return true
  if (typeof delta !== "object") return false
  const d = delta as Record<string, unknown>
  return isNullableString(d.content) && d.reasoning_content === undefined && d.reasoning === undefined &&
    (d.tool_calls === undefined || d.tool_calls === null)
}

/**
 * Checks a parsed stream event against the chat-completions chunk format: by hand for the
 * plain text deltas that make up nearly all of a stream, with the Schema for the rest.
 *
 * @internal
 */
export const checkChunk = (u: unknown): ReturnType<typeof decodeChunk> =>
  isPlainTextChunk(u) ? Either.right(u) : decodeChunk(u)

interface ActiveToolCall {
  readonly id: string
  readonly name: string
  args: string
}

/** @internal */
export class ChatStreamState {
  private started = false
  private textOpen = false
  private reasoningOpen = false
  private readonly tools = new Map<number, ActiveToolCall>()
  private reason: string | null | undefined = undefined
  private usage: WireUsage | null | undefined = undefined
  /** Whether the server said it finished (a finish_reason or `[DONE]`). */
  completed = false

  onChunk(chunk: WireChunk, parts: Array<Response.StreamPartEncoded>): Either.Either<void, AiError.AiError> {
    if (chunk.error !== undefined && chunk.error !== null) {
      return Either.left(
        new AiError.MalformedOutput({
          module: "ChatCompletions",
          method: "streamText",
          description: `The server reported an error in the stream: ${safeJson(chunk.error)}`
        })
      )
    }
    if (!this.started) {
      this.started = true
      const timestamp = timestampOf(chunk.created)
      parts.push({
        type: "response-metadata",
        ...(chunk.id === undefined ? {} : { id: chunk.id }),
        ...(chunk.model === undefined ? {} : { modelId: chunk.model }),
        ...(timestamp === undefined ? {} : { timestamp })
      })
    }
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = chunk.usage
    const choice = chunk.choices?.[0]
    if (choice === undefined) return Either.right(undefined)
    const delta = choice.delta
    if (delta !== undefined && delta !== null) {
      const reasoning = delta.reasoning_content ?? delta.reasoning
      if (typeof reasoning === "string" && reasoning !== "") {
        if (!this.reasoningOpen) {
          this.reasoningOpen = true
          parts.push({ type: "reasoning-start", id: "reasoning" })
        }
        parts.push({ type: "reasoning-delta", id: "reasoning", delta: reasoning })
      }
      if (typeof delta.content === "string" && delta.content !== "") {
        if (this.reasoningOpen) {
          this.reasoningOpen = false
          parts.push({ type: "reasoning-end", id: "reasoning" })
        }
        if (!this.textOpen) {
          this.textOpen = true
          parts.push({ type: "text-start", id: "text" })
        }
        parts.push({ type: "text-delta", id: "text", delta: delta.content })
      }
      if (delta.tool_calls !== undefined && delta.tool_calls !== null) {
        for (const call of delta.tool_calls) {
          const index = call.index ?? 0
          let active = this.tools.get(index)
          if (active === undefined) {
            const id = call.id ?? `call_${index}`
            const name = call.function?.name ?? ""
            active = { id, name, args: "" }
            this.tools.set(index, active)
            parts.push({ type: "tool-params-start", id, name, providerExecuted: false })
          }
          const args = call.function?.arguments
          if (typeof args === "string" && args !== "") {
            active.args += args
            parts.push({ type: "tool-params-delta", id: active.id, delta: args })
          }
        }
      }
    }
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) {
      this.reason = choice.finish_reason
      this.completed = true
    }
    return Either.right(undefined)
  }

  /** Closes the open parts and emits the tool calls and the finish part. */
  finish(parts: Array<Response.StreamPartEncoded>): Either.Either<void, AiError.AiError> {
    if (this.reasoningOpen) parts.push({ type: "reasoning-end", id: "reasoning" })
    if (this.textOpen) parts.push({ type: "text-end", id: "text" })
    for (const call of this.tools.values()) {
      const params = parseToolParams(call.name, call.args, "streamText")
      if (Either.isLeft(params)) return Either.left(params.left)
      parts.push({ type: "tool-params-end", id: call.id })
      parts.push({ type: "tool-call", id: call.id, name: call.name, params: params.right })
    }
    parts.push({ type: "finish", reason: finishReason(this.reason, this.tools.size > 0), usage: usageOf(this.usage) })
    return Either.right(undefined)
  }
}

const safeJson = (u: unknown): string => {
  try {
    return JSON.stringify(u)
  } catch {
    return String(u)
  }
}
