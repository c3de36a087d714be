/**
 * OpenAI `POST /v1/chat/completions`: reading and validating a request body as the real API does.
 */
import type { Message, Tool, ToolChoice } from "../../../Script.js"
import { contentText, type PartTypes, stringToolChoices, toolNamed } from "../openai.js"
import { invalid, optionalBoolean, optionalInteger, optionalNumberIn, optionalString, parametersOf, typeName } from "../validation.js"
import { isRecord } from "../../json.js"
import type { WireRequest } from "../WireFormat.js"

/** What a chat completion's reply echoes of its request. */
export interface Echo {
  readonly includeUsage: boolean
}

const ROLES = ["system", "developer", "user", "assistant", "tool", "function"]

const PARTS: PartTypes = {
  text: ["text"],
  placeholder: ["image_url", "input_audio", "file"],
  supported: "'text', 'image_url', 'input_audio', 'refusal', and 'file'"
}

const messageText = (content: unknown, param: string, role: string): string => {
  if (content === undefined || content === null) {
    if (role === "assistant") return ""
    if (content === undefined) return invalid(`Missing required parameter: '${param}'.`, param, "missing_required_parameter")
  }
  return contentText(content, param, PARTS, "array of objects")
}

const parseMessages = (raw: unknown): Array<Message> => {
  if (raw === undefined) invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
  if (!Array.isArray(raw)) invalid(`Invalid type for 'messages': expected an array, but got ${typeName(raw)} instead.`, "messages", "invalid_type")
  const list = raw as Array<unknown>
  if (list.length === 0) {
    invalid("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "messages", "empty_array")
  }
  const out: Array<Message> = []
  for (let i = 0; i < list.length; i++) {
    const m: unknown = list[i]
    if (!isRecord(m)) invalid(`Invalid type for 'messages[${i}]': expected an object, but got ${typeName(m)} instead.`, `messages[${i}]`, "invalid_type")
    const msg = m as Record<string, unknown>
    const role = msg["role"]
    if (role === undefined) invalid(`Missing required parameter: 'messages[${i}].role'.`, `messages[${i}].role`, "missing_required_parameter")
    if (typeof role !== "string" || !ROLES.includes(role)) {
      invalid(
        `Invalid value: '${String(role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`,
        `messages[${i}].role`,
        "invalid_value"
      )
    }
    const r = role as string
    let text = messageText(msg["content"], `messages[${i}].content`, r)
    if (r === "assistant" && Array.isArray(msg["tool_calls"])) {
      for (const call of msg["tool_calls"] as Array<unknown>) {
        if (isRecord(call) && isRecord(call["function"])) {
          text += `[tool call ${String(call["function"]["name"])} ${String(call["function"]["arguments"])}]`
        }
      }
    }
    if (r === "tool" && typeof msg["tool_call_id"] !== "string") {
      invalid(`Missing required parameter: 'messages[${i}].tool_call_id'.`, `messages[${i}].tool_call_id`, "missing_required_parameter")
    }
    out.push({
      role: r === "developer" ? "system" : r === "function" ? "tool" : (r as Message["role"]),
      text
    })
  }
  return out
}

const parseTools = (raw: unknown): Array<Tool> => {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) invalid(`Invalid type for 'tools': expected an array, but got ${typeName(raw)} instead.`, "tools", "invalid_type")
  const out: Array<Tool> = []
  const list = raw as Array<unknown>
  for (let i = 0; i < list.length; i++) {
    const t: unknown = list[i]
    if (!isRecord(t)) invalid(`Invalid type for 'tools[${i}]': expected an object.`, `tools[${i}]`, "invalid_type")
    const tool = t as Record<string, unknown>
    if (tool["type"] !== "function" && tool["type"] !== "custom") {
      invalid(`Invalid value: '${String(tool["type"])}'. Supported values are: 'function' and 'custom'.`, `tools[${i}].type`, "invalid_value")
    }
    const fn = tool["function"] ?? tool["custom"]
    if (!isRecord(fn)) invalid(`Missing required parameter: 'tools[${i}].function'.`, `tools[${i}].function`, "missing_required_parameter")
    const f = fn as Record<string, unknown>
    const name = f["name"]
    if (typeof name !== "string") invalid(`Missing required parameter: 'tools[${i}].function.name'.`, `tools[${i}].function.name`, "missing_required_parameter")
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(name as string)) {
      invalid(`Invalid 'tools[${i}].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`, `tools[${i}].function.name`, "invalid_value")
    }
    out.push({
      name: name as string,
      description: typeof f["description"] === "string" ? f["description"] : undefined,
      parameters: parametersOf(f["parameters"])
    })
  }
  return out
}

const parseToolChoice = (raw: unknown, tools: ReadonlyArray<Tool>): ToolChoice => {
  if (raw === undefined || raw === null) return { _tag: "Auto" }
  if (tools.length === 0) {
    invalid("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", "tool_choice", null)
  }
  const known = toolNamed(tools, (name) => `Invalid value for 'tool_choice': no function named '${name}' was specified in the 'tools' parameter.`)
  if (typeof raw === "string" && Object.hasOwn(stringToolChoices, raw)) return stringToolChoices[raw]!
  if (isRecord(raw)) {
    if (raw["type"] === "function" && isRecord(raw["function"])) {
      return { _tag: "Tool", name: known(raw["function"]["name"], "tool_choice.function.name") }
    }
    if (raw["type"] === "allowed_tools" && isRecord(raw["allowed_tools"])) {
      const allowed = raw["allowed_tools"]
      const list = Array.isArray(allowed["tools"]) ? (allowed["tools"] as Array<unknown>) : []
      const among = list.map((t, i) =>
        known(isRecord(t) && isRecord(t["function"]) ? t["function"]["name"] : undefined, `tool_choice.allowed_tools.tools[${i}].function.name`)
      )
      return allowed["mode"] === "required" ? { _tag: "Required", among } : { _tag: "Auto" }
    }
  }
  return invalid(
    "Invalid value for 'tool_choice': expected one of 'none', 'auto', 'required', or an object naming a function.",
    "tool_choice",
    "invalid_value"
  )
}

/** Reads a request body (throws `Invalid` as the API answers 400). */
export const parse = (body: unknown): WireRequest<Echo> => {
  if (!isRecord(body)) return invalid(`Invalid type for body: expected an object, but got ${typeName(body)} instead.`)
  if (typeof body["model"] !== "string" || body["model"] === "") invalid("you must provide a model parameter", null, null)
  const messages = parseMessages(body["messages"])
  const tools = parseTools(body["tools"])
  const toolChoice = parseToolChoice(body["tool_choice"], tools)
  const stream = optionalBoolean(body, "stream") ?? false
  const streamOptions = body["stream_options"]
  if (streamOptions !== undefined && streamOptions !== null && !stream) {
    invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options", null)
  }
  const includeUsage = isRecord(streamOptions) && streamOptions["include_usage"] === true
  const n = optionalInteger(body, "n", 1)
  if (n !== undefined && n > 1) invalid("The simulator supports only n = 1.", "n", "unsupported_value")
  const temperature = optionalNumberIn(body, "temperature", 0, 2)
  optionalNumberIn(body, "top_p", 0, 1)
  const maxTokens = optionalInteger(body, "max_completion_tokens", 1) ?? optionalInteger(body, "max_tokens", 1)
  const seed = optionalInteger(body, "seed", Number.MIN_SAFE_INTEGER)
  optionalString(body, "user")

  let responseSchema: Record<string, unknown> | undefined
  let jsonObject = false
  const rf = body["response_format"]
  if (rf !== undefined && rf !== null) {
    if (!isRecord(rf)) invalid(`Invalid type for 'response_format': expected an object, but got ${typeName(rf)} instead.`, "response_format", "invalid_type")
    const format = rf as Record<string, unknown>
    switch (format["type"]) {
      case "text":
        break
      case "json_object":
        jsonObject = true
        break
      case "json_schema": {
        const js = format["json_schema"]
        if (!isRecord(js)) invalid("Missing required parameter: 'response_format.json_schema'.", "response_format.json_schema", "missing_required_parameter")
        const j = js as Record<string, unknown>
        if (typeof j["name"] !== "string") {
          invalid("Missing required parameter: 'response_format.json_schema.name'.", "response_format.json_schema.name", "missing_required_parameter")
        }
        responseSchema = isRecord(j["schema"]) ? j["schema"] : { type: "object" }
        break
      }
      default:
        invalid(
          `Invalid value: '${String(format["type"])}'. Supported values are: 'json_object', 'json_schema', and 'text'.`,
          "response_format.type",
          "invalid_value"
        )
    }
  }
  if (jsonObject && !messages.some((m) => /json/i.test(m.text))) {
    invalid("'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", "messages", null)
  }

  return {
    request: {
      route: "chat.completions",
      messages,
      tools,
      toolChoice,
      responseSchema,
      jsonObject,
      maxOutputTokens: maxTokens,
      seed,
      temperature
    },
    stream,
    echo: { includeUsage }
  }
}
