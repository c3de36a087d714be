/**
 * A request as the simulator answers it, whatever it came in as (an in-process call, or one of
 * the three wire formats).
 */
import type { JsonSchema, Message, ParsedRequest, Tool, ToolChoice } from "../../Script.js"
import { hashString } from "../rng.js"

/** A request, whatever wire format it came in. */
export interface SimRequest {
  readonly route: ParsedRequest["route"]
  readonly messages: ReadonlyArray<Message>
  readonly tools: ReadonlyArray<Tool>
  readonly toolChoice: ToolChoice
  /** Structured output: an instance of this schema is the answer. */
  readonly responseSchema: JsonSchema | undefined
  /** JSON mode without a schema (`response_format: {type: "json_object"}`). */
  readonly jsonObject: boolean
  readonly maxOutputTokens: number | undefined
  /** Per-request seed (OpenAI `seed`). */
  readonly seed: number | undefined
  /** Sampling temperature; above 0 without a seed, each call answers differently. */
  readonly temperature: number | undefined
}

/**
 * A hash of what a request asks (messages, tools, tool choice, structured output). Without tools
 * the tool choice says nothing (`@effect/ai` sends `"none"`, the wire formats default to
 * `"auto"`), so it is left out: the same prompt hashes the same on every path.
 */
export const requestHash = (req: SimRequest): number => {
  let h = 0x811c9dc5
  for (const m of req.messages) {
    h = hashString(m.role, h)
    h = hashString(m.text, h)
  }
  for (const t of req.tools) h = hashString(t.name, h)
  h = hashString(req.tools.length === 0 ? "None" : req.toolChoice._tag, h)
  if (req.responseSchema !== undefined) h = hashString("schema", h)
  return h
}

/** Rough token count: about four characters per token. */
export const estimateTokens = (chars: number): number => Math.max(1, Math.ceil(chars / 4))

/** The tokens of a request's prompt (messages and tool definitions). */
export const inputTokensOf = (req: SimRequest): number => {
  let chars = 0
  for (const m of req.messages) chars += m.text.length + 12
  for (const t of req.tools) chars += t.name.length + (t.description?.length ?? 0) + 40
  return estimateTokens(chars)
}
