/**
 * Test helpers that read each wire format back the way a client does: an SSE body into its
 * events, and a reply (whole or streamed) into its text, reasoning, tool calls, and how it ended.
 */
import { parseSse } from "./http.js"

/** What a client reads from a reply. */
export interface Decoded {
  readonly text: string
  readonly reasoning: string
  readonly toolCalls: ReadonlyArray<{ readonly name: string; readonly arguments: string }>
  /** The protocol's end marker was seen ([DONE] after a finish reason, message_stop, response.completed/incomplete). */
  readonly ended: boolean
  /** An in-band error was seen. */
  readonly error: boolean
}

type Json = Record<string, unknown>

const textOfContent = (content: unknown, kind: "text" | "thinking"): string => {
  if (typeof content === "string") return kind === "text" ? content : ""
  if (!Array.isArray(content)) return ""
  let out = ""
  for (const part of content as Array<Json>) {
    if (part["type"] !== kind) continue
    out += kind === "text" ? String(part["text"]) : textOfContent(part["thinking"], "text")
  }
  return out
}

/** A chat completions stream. */
export const chatStream = (body: string): Decoded => {
  let text = ""
  let reasoning = ""
  let finished = false
  let done = false
  let error = false
  const calls: Array<{ name: string; arguments: string }> = []
  for (const event of parseSse(body)) {
    if (event.data === "[DONE]") {
      done = true
      continue
    }
    const data = JSON.parse(event.data) as Json
    if (data["error"] !== undefined) {
      error = true
      continue
    }
    for (const choice of (data["choices"] as Array<Json>)) {
      const delta = choice["delta"] as Json
      text += textOfContent(delta["content"], "text")
      reasoning += textOfContent(delta["content"], "thinking")
      if (typeof delta["reasoning_content"] === "string") reasoning += delta["reasoning_content"]
      for (const call of (delta["tool_calls"] as Array<Json> | undefined) ?? []) {
        const index = call["index"] as number
        const fn = call["function"] as Json
        calls[index] ??= { name: "", arguments: "" }
        if (typeof fn["name"] === "string") calls[index].name = fn["name"]
        calls[index].arguments += String(fn["arguments"] ?? "")
      }
      if (choice["finish_reason"] !== null && choice["finish_reason"] !== undefined) finished = true
    }
  }
  return { text, reasoning, toolCalls: calls, ended: finished && done, error }
}

/** A whole chat completion (or a 200 body carrying an error). */
export const chatWhole = (body: Json): Decoded => {
  if (body["error"] !== undefined) return { text: "", reasoning: "", toolCalls: [], ended: false, error: true }
  const message = (body["choices"] as Array<Json>)[0]!["message"] as Json
  const calls = ((message["tool_calls"] as Array<Json> | undefined) ?? []).map((c) => {
    const fn = c["function"] as Json
    return { name: String(fn["name"]), arguments: String(fn["arguments"]) }
  })
  return {
    text: textOfContent(message["content"] ?? "", "text"),
    reasoning: textOfContent(message["content"], "thinking") + String(message["reasoning_content"] ?? ""),
    toolCalls: calls,
    ended: true,
    error: false
  }
}

/** A Responses event stream. */
export const responsesStream = (body: string): Decoded => {
  let text = ""
  let ended = false
  let error = false
  const calls: Array<{ name: string; arguments: string }> = []
  for (const event of parseSse(body)) {
    const data = JSON.parse(event.data) as Json
    switch (data["type"]) {
      case "response.output_text.delta":
        text += String(data["delta"])
        break
      case "response.output_item.added": {
        const item = data["item"] as Json
        if (item["type"] === "function_call") calls[data["output_index"] as number] = { name: String(item["name"]), arguments: "" }
        break
      }
      case "response.function_call_arguments.delta":
        calls[data["output_index"] as number]!.arguments += String(data["delta"])
        break
      case "response.completed":
      case "response.incomplete":
        ended = true
        break
      case "error":
      case "response.failed":
        error = true
    }
  }
  return { text, reasoning: "", toolCalls: calls.filter((c) => c !== undefined), ended, error }
}

/** A whole Responses object. */
export const responsesWhole = (body: Json): Decoded => {
  if (body["status"] === "failed") return { text: "", reasoning: "", toolCalls: [], ended: false, error: true }
  let text = ""
  const calls: Array<{ name: string; arguments: string }> = []
  for (const item of body["output"] as Array<Json>) {
    if (item["type"] === "message") for (const part of item["content"] as Array<Json>) text += String(part["text"])
    if (item["type"] === "function_call") calls.push({ name: String(item["name"]), arguments: String(item["arguments"]) })
  }
  return { text, reasoning: "", toolCalls: calls, ended: true, error: false }
}

/** A Messages event stream. */
export const messagesStream = (body: string): Decoded => {
  let text = ""
  let reasoning = ""
  let ended = false
  let error = false
  const blocks: Array<Json> = []
  const calls: Array<{ name: string; arguments: string }> = []
  for (const event of parseSse(body)) {
    const data = JSON.parse(event.data) as Json
    switch (data["type"]) {
      case "content_block_start": {
        const block = data["content_block"] as Json
        blocks[data["index"] as number] = block
        if (block["type"] === "tool_use") calls.push({ name: String(block["name"]), arguments: "" })
        break
      }
      case "content_block_delta": {
        const delta = data["delta"] as Json
        if (delta["type"] === "text_delta") text += String(delta["text"])
        if (delta["type"] === "thinking_delta") reasoning += String(delta["thinking"])
        if (delta["type"] === "input_json_delta") calls[calls.length - 1]!.arguments += String(delta["partial_json"])
        break
      }
      case "message_stop":
        ended = true
        break
      case "error":
        error = true
    }
  }
  return { text, reasoning, toolCalls: calls, ended, error }
}

/** A whole Messages object (an error status's body: an error). */
export const messagesWhole = (body: Json): Decoded => {
  if (body["type"] === "error") return { text: "", reasoning: "", toolCalls: [], ended: false, error: true }
  let text = ""
  let reasoning = ""
  const calls: Array<{ name: string; arguments: string }> = []
  for (const block of body["content"] as Array<Json>) {
    if (block["type"] === "text") text += String(block["text"])
    if (block["type"] === "thinking") reasoning += String(block["thinking"])
    if (block["type"] === "tool_use") calls.push({ name: String(block["name"]), arguments: JSON.stringify(block["input"]) })
  }
  return { text, reasoning, toolCalls: calls, ended: true, error: false }
}
