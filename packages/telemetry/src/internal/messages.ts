/**
 * `@effect/ai` prompts and responses in the shapes of the GenAI conventions' message schemas
 * (`gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.system_instructions`).
 */
import type * as Prompt from "@effect/ai/Prompt"
import type { SpanTransformer } from "@effect/ai/Telemetry"
import * as GenAi from "../GenAi.js"
import { toJson } from "./json.js"

/** What every string of a message goes through (redaction, masking). */
export type Text = (text: string) => string

const identity: Text = (s) => s

const modality = (mediaType: string): string => {
  const slash = mediaType.indexOf("/")
  const kind = slash > 0 ? mediaType.slice(0, slash) : mediaType
  return kind === "image" || kind === "audio" || kind === "video" ? kind : "document"
}

const filePart = (part: Prompt.FilePart, text: Text): GenAi.MessagePart => {
  const mime = part.mediaType === "" ? null : part.mediaType
  if (part.data instanceof URL) return { type: "uri", modality: modality(part.mediaType), mime_type: mime, uri: text(part.data.href) }
  const content = typeof part.data === "string" ? part.data : Buffer.from(part.data).toString("base64")
  return { type: "blob", modality: modality(part.mediaType), mime_type: mime, content }
}

const promptPart = (part: Prompt.Part, text: Text): GenAi.MessagePart => {
  switch (part.type) {
    case "text":
      return { type: "text", content: text(part.text) }
    case "reasoning":
      return { type: "reasoning", content: text(part.text) }
    case "file":
      return filePart(part, text)
    case "tool-call":
      return { type: "tool_call", id: part.id, name: part.name, arguments: toJson(part.params, text) ?? null }
    case "tool-result":
      return { type: "tool_call_response", id: part.id, response: toJson(part.result, text) ?? null }
  }
}

/**
 * A prompt as the conventions record it: the system messages before the conversation as
 * system instructions (their texts, as they are: rendering them is left to the caller, who
 * can reuse the rendering of a system prompt it has seen), the rest as input messages in
 * order, every string through `text`.
 */
export const fromPrompt = (prompt: Prompt.Prompt, text: Text = identity): {
  readonly system: ReadonlyArray<string>
  readonly messages: ReadonlyArray<GenAi.InputMessage>
} => {
  const system: Array<string> = []
  const messages: Array<GenAi.InputMessage> = []
  for (const message of prompt.content) {
    if (message.role === "system") {
      if (messages.length === 0) system.push(message.content)
      else messages.push({ role: "system", parts: [{ type: "text", content: text(message.content) }] })
      continue
    }
    const parts: Array<GenAi.MessagePart> = []
    for (const part of message.content) parts.push(promptPart(part, text))
    messages.push({ role: message.role, parts })
  }
  return { system, messages }
}

/** A reply text as the one output message of a call. */
export const fromText = (reply: string, finishReason: string, text: Text = identity): ReadonlyArray<GenAi.OutputMessage> => [
  { role: "assistant", parts: [{ type: "text", content: text(reply) }], finish_reason: GenAi.finishReason(finishReason) }
]

/** The parts `@effect/ai` hands a span transformer. */
export type ResponseParts = Parameters<SpanTransformer>[0]["response"]

/** A response's parts (whole or streamed) as the one output message of a call. */
export const fromResponse = (parts: ResponseParts, text: Text = identity): ReadonlyArray<GenAi.OutputMessage> => {
  const out: Array<GenAi.MessagePart> = []
  let reply = ""
  let reasoning = ""
  let finish = "stop"
  const flush = () => {
    if (reasoning !== "") out.push({ type: "reasoning", content: text(reasoning) })
    if (reply !== "") out.push({ type: "text", content: text(reply) })
    reasoning = ""
    reply = ""
  }
  for (const part of parts) {
    switch (part.type) {
      case "text":
        reply += part.text
        break
      case "text-delta":
        reply += part.delta
        break
      case "reasoning":
        reasoning += part.text
        break
      case "reasoning-delta":
        reasoning += part.delta
        break
      case "tool-call":
        flush()
        out.push({ type: "tool_call", id: part.id, name: part.name, arguments: toJson(part.params, text) ?? null })
        break
      case "tool-result":
        flush()
        out.push({ type: "tool_call_response", id: part.id, response: toJson(part.result, text) ?? null })
        break
      case "finish":
        finish = part.reason
        break
    }
  }
  flush()
  return [{ role: "assistant", parts: out, finish_reason: GenAi.finishReason(finish) }]
}
