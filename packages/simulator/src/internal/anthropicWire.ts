/**
 * Anthropic `POST /v1/messages`: request validation, the `message` reply and
 * the event stream (`message_start` ... `message_stop`).
 */
import type { Message, Tool, ToolChoice } from "../Script.js"
import { chunkArguments, chunkText, type Reply } from "./answer.js"
import {
  bearer,
  eventFrame,
  invalid,
  isRecord,
  json,
  type ReplyContext,
  type SsePlan,
  typeName,
  type Wire,
  type WireRequest
} from "./wire.js"

interface Echo {
  readonly stopSequences: ReadonlyArray<string>
}

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

const parse = (body: unknown, headers: Readonly<Record<string, string | undefined>>): WireRequest<Echo> => {
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
  const stops = Array.isArray(body["stop_sequences"])
    ? (body["stop_sequences"] as Array<unknown>).filter((s): s is string => typeof s === "string")
    : []
  return {
    request: {
      route: "messages",
      messages,
      tools,
      toolChoice,
      responseSchema,
      jsonObject: false,
      maxOutputTokens: maxTokens as number,
      seed: undefined
    },
    stream,
    echo: { stopSequences: stops }
  }
}

const stopReason = (reply: Reply): string =>
  reply.finishReason === "tool-calls" ? "tool_use" : reply.finishReason === "length" ? "max_tokens" : "end_turn"

const toolUseId = (id: string): string => `toolu_${id.startsWith("call_") ? id.slice(5) : id}`

const parseInput = (args: string): unknown => {
  try {
    const v: unknown = JSON.parse(args)
    return isRecord(v) ? v : {}
  } catch {
    return {}
  }
}

const render = (_req: WireRequest<Echo>, reply: Reply, ctx: ReplyContext): unknown => {
  const content: Array<unknown> = []
  if (reply.text !== "" || reply.toolCalls.length === 0) content.push({ type: "text", text: reply.text })
  for (const c of reply.toolCalls) content.push({ type: "tool_use", id: toolUseId(c.id), name: c.name, input: parseInput(c.arguments) })
  return {
    id: `msg_${reply.id}`,
    type: "message",
    role: "assistant",
    model: ctx.model,
    content,
    stop_reason: stopReason(reply),
    stop_sequence: null,
    usage: {
      input_tokens: reply.inputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: reply.outputTokens,
      service_tier: "standard"
    }
  }
}

const plan = (_req: WireRequest<Echo>, reply: Reply, ctx: ReplyContext): SsePlan => {
  const start = {
    type: "message_start",
    message: {
      id: `msg_${reply.id}`,
      type: "message",
      role: "assistant",
      model: ctx.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: reply.inputTokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 1,
        service_tier: "standard"
      }
    }
  }
  let head = eventFrame("message_start", json(start))
  const hasText = reply.text !== "" || reply.toolCalls.length === 0
  const texts = hasText ? chunkText(reply.text) : []
  let index = 0
  // frames that ride with the next token step (block boundaries)
  let pending = ""
  if (hasText) {
    head += eventFrame("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`) +
      eventFrame("ping", `{"type": "ping"}`)
    pending = eventFrame("content_block_stop", `{"type":"content_block_stop","index":0}`)
    index = 1
  }
  // tool calls are rare in streams: their frames are built up front
  const toolFrames: Array<string> = []
  for (const c of reply.toolCalls) {
    pending += eventFrame(
      "content_block_start",
      `{"type":"content_block_start","index":${index},"content_block":{"type":"tool_use","id":${json(toolUseId(c.id))},"name":${json(c.name)},"input":{}}}`
    )
    for (const a of chunkArguments(c.arguments)) {
      toolFrames.push(
        pending + eventFrame("content_block_delta", `{"type":"content_block_delta","index":${index},"delta":{"type":"input_json_delta","partial_json":${json(a)}}}`)
      )
      pending = ""
    }
    pending = eventFrame("content_block_stop", `{"type":"content_block_stop","index":${index}}`)
    index++
  }
  const closing = pending
  return {
    head,
    count: texts.length + toolFrames.length,
    frame: (i) =>
      i < texts.length
        ? eventFrame("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":${json(texts[i])}}}`)
        : toolFrames[i - texts.length] as string,
    tail: () =>
      closing +
      eventFrame(
        "message_delta",
        `{"type":"message_delta","delta":{"stop_reason":${json(stopReason(reply))},"stop_sequence":null},"usage":{"input_tokens":${reply.inputTokens},"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":${reply.outputTokens}}}`
      ) +
      eventFrame("message_stop", `{"type":"message_stop"}`)
  }
}

const errorType = (status: number): string => {
  switch (status) {
    case 400:
      return "invalid_request_error"
    case 401:
      return "authentication_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 413:
      return "request_too_large"
    case 429:
      return "rate_limit_error"
    case 503:
    case 529:
      return "overloaded_error"
    default:
      return status >= 500 ? "api_error" : "invalid_request_error"
  }
}

/** Anthropic's error body. */
export const errorBody = (status: number, message: string): unknown => ({
  type: "error",
  error: { type: errorType(status), message }
})

/** The Anthropic Messages wire format. */
export const wire: Wire<Echo> = {
  route: "messages",
  parse,
  render,
  plan,
  errorBody: (status, message) => errorBody(status, message),
  authorized: (headers, apiKey) => (headers["x-api-key"] ?? bearer(headers)) === apiKey,
  unauthorizedMessage: (headers) =>
    headers["x-api-key"] === undefined && headers["authorization"] === undefined
      ? "x-api-key header is required"
      : "invalid x-api-key"
}
