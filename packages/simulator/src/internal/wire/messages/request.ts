/**
 * Anthropic `POST /v1/messages`: reading and validating a request body as the real API does.
 */
import type { Message, Tool, ToolChoice } from "../../../Script.js"
import { json } from "../sse.js"
import { invalid, typeName } from "../validation.js"
import { isRecord } from "../../json.js"
import type { WireRequest } from "../WireFormat.js"

/** A message echoes nothing of its request. */
export interface Echo {}

const blocksText = (content: unknown, param: string): string => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return invalid(`${param}: Input should be a valid list`, param)
  let text = ""
  for (let j = 0; j < content.length; j++) {
    const block: unknown = content[j]
    if (!isRecord(block)) invalid(`${param}.${j}: Input should be a valid dictionary or object`, param)
    const b = block as Record<string, unknown>
    switch (b["type"]) {
      case "text":
        if (typeof b["text"] !== "string") invalid(`${param}.${j}.text: Field required`, param)
        text += b["text"] as string
        break
      case "tool_use":
        text += `[tool call ${String(b["name"])} ${json(b["input"])}]`
        break
      case "tool_result": {
        if (typeof b["tool_use_id"] !== "string") invalid(`${param}.${j}.tool_use_id: Field required`, param)
        const c = b["content"]
        text += c === undefined ? "" : typeof c === "string" ? c : blocksText(c, `${param}.${j}.content`)
        break
      }
      case "image":
      case "document":
      case "search_result":
        text += `[${b["type"]}]`
        break
      case "thinking":
      case "redacted_thinking":
        break
      default:
        invalid(`${param}.${j}.type: Input tag '${String(b["type"])}' found using 'type' does not match any of the expected tags`, param)
    }
  }
  return text
}

const parseMessages = (raw: unknown, system: unknown): Array<Message> => {
  const out: Array<Message> = []
  if (system !== undefined && system !== null) {
    out.push({ role: "system", text: blocksText(system, "system") })
  }
  if (raw === undefined) invalid("messages: Field required", "messages")
  if (!Array.isArray(raw)) invalid(`messages: Input should be a valid list`, "messages")
  const list = raw as Array<unknown>
  for (let i = 0; i < list.length; i++) {
    const m: unknown = list[i]
    if (!isRecord(m)) invalid(`messages.${i}: Input should be a valid dictionary or object`, "messages")
    const msg = m as Record<string, unknown>
    const role = msg["role"]
    if (role !== "user" && role !== "assistant") invalid(`messages.${i}.role: Input should be 'user' or 'assistant'`, "messages")
    if (msg["content"] === undefined) invalid(`messages.${i}.content: Field required`, "messages")
    const content = msg["content"]
    // a user turn made only of tool results reads as a tool message
    const onlyToolResults = Array.isArray(content) && content.length > 0 &&
      content.every((b) => isRecord(b) && b["type"] === "tool_result")
    out.push({
      role: role === "user" ? (onlyToolResults ? "tool" : "user") : "assistant",
      text: blocksText(content, `messages.${i}.content`)
    })
  }
  return out
}

const parseTools = (raw: unknown): Array<Tool> => {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) invalid("tools: Input should be a valid list", "tools")
  const out: Array<Tool> = []
  const list = raw as Array<unknown>
  for (let i = 0; i < list.length; i++) {
    const t: unknown = list[i]
    if (!isRecord(t)) invalid(`tools.${i}: Input should be a valid dictionary or object`, "tools")
    const tool = t as Record<string, unknown>
    if (tool["type"] !== undefined && tool["type"] !== "custom") continue // server tools are never called here
    if (typeof tool["name"] !== "string") invalid(`tools.${i}.custom.name: Field required`, "tools")
    if (!isRecord(tool["input_schema"])) invalid(`tools.${i}.custom.input_schema: Field required`, "tools")
    out.push({
      name: tool["name"] as string,
      description: typeof tool["description"] === "string" ? tool["description"] : undefined,
      parameters: tool["input_schema"] as Record<string, unknown>
    })
  }
  return out
}

const parseToolChoice = (raw: unknown, tools: ReadonlyArray<Tool>): ToolChoice => {
  if (raw === undefined || raw === null) return { _tag: "Auto" }
  if (!isRecord(raw)) return invalid("tool_choice: Input should be a valid dictionary or object", "tool_choice")
  switch (raw["type"]) {
    case "auto":
      return { _tag: "Auto" }
    case "none":
      return { _tag: "None" }
    case "any":
      return { _tag: "Required", among: undefined }
    case "tool": {
      const name = raw["name"]
      if (typeof name !== "string") return invalid("tool_choice.tool.name: Field required", "tool_choice")
      if (!tools.some((t) => t.name === name)) {
        return invalid(`Tool '${name}' not found in provided tools`, "tool_choice")
      }
      return { _tag: "Tool", name }
    }
    default:
      return invalid(
        `tool_choice: Input tag '${String(raw["type"])}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'`,
        "tool_choice"
      )
  }
}

/** Reads a request body (throws `Invalid` as the API answers 400). */
export const parse = (body: unknown, headers: Readonly<Record<string, string | undefined>>): WireRequest<Echo> => {
  if (headers["anthropic-version"] === undefined) invalid("anthropic-version: header is required")
  if (!isRecord(body)) return invalid(`Input should be a valid dictionary or object, got ${typeName(body)}`)
  if (typeof body["model"] !== "string" || body["model"] === "") invalid("model: Field required", "model")
  const maxTokens = body["max_tokens"]
  if (maxTokens === undefined) invalid("max_tokens: Field required", "max_tokens")
  if (typeof maxTokens !== "number" || !Number.isInteger(maxTokens) || maxTokens < 1) {
    invalid("max_tokens: Input should be a valid integer greater than or equal to 1", "max_tokens")
  }
  const messages = parseMessages(body["messages"], body["system"])
  const tools = parseTools(body["tools"])
  const toolChoice = parseToolChoice(body["tool_choice"], tools)
  const stream = body["stream"] === true
  const temperature = body["temperature"]
  if (temperature !== undefined && (typeof temperature !== "number" || temperature < 0 || temperature > 1)) {
    invalid("temperature: Input should be less than or equal to 1", "temperature")
  }
  let responseSchema: Record<string, unknown> | undefined
  const outputFormat = body["output_format"]
  if (isRecord(outputFormat) && outputFormat["type"] === "json_schema" && isRecord(outputFormat["schema"])) {
    responseSchema = outputFormat["schema"]
  }
  return {
    request: {
      route: "messages",
      messages,
      tools,
      toolChoice,
      responseSchema,
      jsonObject: false,
      maxOutputTokens: maxTokens as number,
      seed: undefined,
      temperature: temperature as number | undefined
    },
    stream,
    echo: {}
  }
}
