/**
 * `@effect/ai` prompts and responses in the shapes of the GenAI conventions' message schemas
 * (`gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.system_instructions`).
 */
import type * as Prompt from "@effect/ai/Prompt"
import type { SpanTransformer } from "@effect/ai/Telemetry"
import * as GenAi from "../GenAi.js"

const modality = (mediaType: string): string => {
  const slash = mediaType.indexOf("/")
  const kind = slash > 0 ? mediaType.slice(0, slash) : mediaType
  return kind === "image" || kind === "audio" || kind === "video" ? kind : "document"
}

const filePart = (part: Prompt.FilePart): GenAi.MessagePart => {
  const mime = part.mediaType === "" ? null : part.mediaType
  if (part.data instanceof URL) return { type: "uri", modality: modality(part.mediaType), mime_type: mime, uri: part.data.href }
  const content = typeof part.data === "string" ? part.data : Buffer.from(part.data).toString("base64")
  return { type: "blob", modality: modality(part.mediaType), mime_type: mime, content }
}

const promptPart = (part: Prompt.Part): GenAi.MessagePart => {
  switch (part.type) {
    case "text":
      return { type: "text", content: part.text }
    case "reasoning":
      return { type: "reasoning", content: part.text }
    case "file":
      return filePart(part)
    case "tool-call":
      return { type: "tool_call", id: part.id, name: part.name, arguments: part.params }
    case "tool-result":
      return { type: "tool_call_response", id: part.id, response: part.result }
  }
}

/**
 * A prompt as the conventions record it: the system messages before the conversation as
 * system instructions, the rest as input messages in order.
 */
export const fromPrompt = (prompt: Prompt.Prompt): {
  readonly systemInstructions: ReadonlyArray<GenAi.MessagePart>
  readonly messages: ReadonlyArray<GenAi.InputMessage>
} => {
  const systemInstructions: Array<GenAi.MessagePart> = []
  const messages: Array<GenAi.InputMessage> = []
  for (const message of prompt.content) {
    if (message.role === "system") {
      const part: GenAi.MessagePart = { type: "text", content: message.content }
      if (messages.length === 0) systemInstructions.push(part)
      else messages.push({ role: "system", parts: [part] })
      continue
    }
    const parts: Array<GenAi.MessagePart> = []
    for (const part of message.content) parts.push(promptPart(part))
    messages.push({ role: message.role, parts })
  }
  return { systemInstructions, messages }
}

/** A reply text as the one output message of a call. */
export const fromText = (text: string, finishReason: string): ReadonlyArray<GenAi.OutputMessage> => [
  { role: "assistant", parts: [{ type: "text", content: text }], finish_reason: GenAi.finishReason(finishReason) }
]

/** The parts `@effect/ai` hands a span transformer. */
export type ResponseParts = Parameters<SpanTransformer>[0]["response"]

/** A response's parts (whole or streamed) as the one output message of a call. */
export const fromResponse = (parts: ResponseParts): ReadonlyArray<GenAi.OutputMessage> => {
  const out: Array<GenAi.MessagePart> = []
  let text = ""
  let reasoning = ""
  let finish = "stop"
  const flush = () => {
    if (reasoning !== "") out.push({ type: "reasoning", content: reasoning })
    if (text !== "") out.push({ type: "text", content: text })
    reasoning = ""
    text = ""
  }
  for (const part of parts) {
    switch (part.type) {
      case "text":
        text += part.text
        break
      case "text-delta":
        text += part.delta
        break
      case "reasoning":
        reasoning += part.text
        break
      case "reasoning-delta":
        reasoning += part.delta
        break
      case "tool-call":
        flush()
        out.push({ type: "tool_call", id: part.id, name: part.name, arguments: part.params })
        break
      case "tool-result":
        flush()
        out.push({ type: "tool_call_response", id: part.id, response: part.result })
        break
      case "finish":
        finish = part.reason
        break
    }
  }
  flush()
  return [{ role: "assistant", parts: out, finish_reason: GenAi.finishReason(finish) }]
}
