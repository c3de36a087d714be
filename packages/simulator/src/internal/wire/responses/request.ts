/**
 * OpenAI `POST /v1/responses`: reading and validating a request body as the real API does.
 */
import type { Message, Tool, ToolChoice } from "../../../Script.js"
import { contentText, type PartTypes, stringToolChoices, toolNamed } from "../openai.js"
import { json } from "../sse.js"
import { invalid, optionalBoolean, optionalInteger, optionalNumberIn, optionalString, parametersOf, typeName } from "../validation.js"
import { isRecord } from "../../json.js"
import type { WireRequest } from "../WireFormat.js"

/** What a response object echoes of its request. */
export interface Echo {
  readonly instructions: string | null
  readonly maxOutputTokens: number | null
  readonly tools: ReadonlyArray<unknown>
  readonly toolChoice: unknown
  readonly textFormat: unknown
  readonly temperature: number
  readonly topP: number
  readonly metadata: unknown
  readonly parallelToolCalls: boolean
  readonly previousResponseId: string | null
  readonly store: boolean
  readonly user: string | null
}

const ROLES = ["user", "system", "developer", "assistant"]

const PARTS: PartTypes = {
  text: ["input_text", "output_text"],
  placeholder: ["input_image", "input_file", "input_audio"],
  supported: "'input_text', 'input_image', 'output_text', 'refusal', 'input_file', and 'input_audio'"
}

const parseInput = (raw: unknown, instructions: string | undefined): Array<Message> => {
  const out: Array<Message> = []
  if (instructions !== undefined) out.push({ role: "system", text: instructions })
  if (raw === undefined || raw === null) invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter")
  if (typeof raw === "string") {
    out.push({ role: "user", text: raw })
    return out
  }
  if (!Array.isArray(raw)) invalid(`Invalid type for 'input': expected one of a string or array of input items, but got ${typeName(raw)} instead.`, "input", "invalid_type")
  const list = raw as Array<unknown>
  for (let i = 0; i < list.length; i++) {
    const it: unknown = list[i]
    if (!isRecord(it)) invalid(`Invalid type for 'input[${i}]': expected an object, but got ${typeName(it)} instead.`, `input[${i}]`, "invalid_type")
    const item = it as Record<string, unknown>
    const type = item["type"] ?? "message"
    switch (type) {
      case "message": {
        const role = item["role"]
        if (typeof role !== "string" || !ROLES.includes(role)) {
          invalid(`Invalid value: '${String(role)}'. Supported values are: 'assistant', 'system', 'developer', and 'user'.`, `input[${i}].role`, "invalid_value")
        }
        if (item["content"] === undefined) invalid(`Missing required parameter: 'input[${i}].content'.`, `input[${i}].content`, "missing_required_parameter")
        const text = contentText(item["content"], `input[${i}].content`, PARTS, "array of input items")
        out.push({ role: role === "developer" ? "system" : (role as Message["role"]), text })
        break
      }
      case "function_call":
        out.push({ role: "assistant", text: `[tool call ${String(item["name"])} ${String(item["arguments"])}]` })
        break
      case "function_call_output":
        if (typeof item["call_id"] !== "string") {
          invalid(`Missing required parameter: 'input[${i}].call_id'.`, `input[${i}].call_id`, "missing_required_parameter")
        }
        out.push({ role: "tool", text: typeof item["output"] === "string" ? item["output"] : json(item["output"]) })
        break
      case "reasoning":
      case "item_reference":
        break
      default:
        invalid(`Invalid value: '${String(type)}'.`, `input[${i}].type`, "invalid_value")
    }
  }
  return out
}

const parseTools = (raw: unknown): { tools: Array<Tool>; echo: Array<unknown> } => {
  if (raw === undefined || raw === null) return { tools: [], echo: [] }
  if (!Array.isArray(raw)) invalid(`Invalid type for 'tools': expected an array, but got ${typeName(raw)} instead.`, "tools", "invalid_type")
  const tools: Array<Tool> = []
  const echo: Array<unknown> = []
  const list = raw as Array<unknown>
  for (let i = 0; i < list.length; i++) {
    const t: unknown = list[i]
    if (!isRecord(t)) invalid(`Invalid type for 'tools[${i}]': expected an object.`, `tools[${i}]`, "invalid_type")
    const tool = t as Record<string, unknown>
    if (tool["type"] !== "function") {
      echo.push(tool) // hosted tools are accepted and echoed, never called
      continue
    }
    const name = tool["name"]
    if (typeof name !== "string") invalid(`Missing required parameter: 'tools[${i}].name'.`, `tools[${i}].name`, "missing_required_parameter")
    const description = typeof tool["description"] === "string" ? tool["description"] : undefined
    const parameters = isRecord(tool["parameters"]) ? tool["parameters"] : null
    tools.push({ name: name as string, description, parameters: parametersOf(parameters) })
    echo.push({
      type: "function",
      name,
      description: description ?? null,
      parameters,
      strict: typeof tool["strict"] === "boolean" ? tool["strict"] : true
    })
  }
  return { tools, echo }
}

const parseToolChoice = (raw: unknown, tools: ReadonlyArray<Tool>): ToolChoice => {
  if (raw === undefined || raw === null) return { _tag: "Auto" }
  if (typeof raw === "string" && Object.hasOwn(stringToolChoices, raw)) return stringToolChoices[raw]!
  const known = toolNamed(tools, (name) => `Tool choice '${name}' not found in 'tools' parameter.`)
  if (isRecord(raw)) {
    if (raw["type"] === "function") return { _tag: "Tool", name: known(raw["name"], "tool_choice.name") }
    if (raw["type"] === "allowed_tools") {
      const list = Array.isArray(raw["tools"]) ? (raw["tools"] as Array<unknown>) : []
      const among = list.map((t, i) => known(isRecord(t) ? t["name"] : undefined, `tool_choice.tools[${i}].name`))
      return raw["mode"] === "required" ? { _tag: "Required", among } : { _tag: "Auto" }
    }
    // hosted tool choices (file_search, ...) behave like "auto" here
    return { _tag: "Auto" }
  }
  return invalid(`Invalid value for 'tool_choice': ${json(raw)}.`, "tool_choice", "invalid_value")
}

/** Reads a request body (throws `Invalid` as the API answers 400). */
export const parse = (body: unknown): WireRequest<Echo> => {
  if (!isRecord(body)) return invalid(`Invalid type for body: expected an object, but got ${typeName(body)} instead.`)
  if (typeof body["model"] !== "string" || body["model"] === "") {
    invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter")
  }
  const instructions = optionalString(body, "instructions")
  const messages = parseInput(body["input"], instructions)
  const { echo: toolsEcho, tools } = parseTools(body["tools"])
  const toolChoice = parseToolChoice(body["tool_choice"], tools)
  const stream = optionalBoolean(body, "stream") ?? false
  const requestedTemperature = optionalNumberIn(body, "temperature", 0, 2)
  const topP = optionalNumberIn(body, "top_p", 0, 1) ?? 1
  const maxOutputTokens = optionalInteger(body, "max_output_tokens", 16)
  const parallelToolCalls = optionalBoolean(body, "parallel_tool_calls") ?? true
  const store = optionalBoolean(body, "store") ?? true
  const previousResponseId = optionalString(body, "previous_response_id") ?? null
  const user = optionalString(body, "user") ?? null

  let responseSchema: Record<string, unknown> | undefined
  let jsonObject = false
  let textFormat: unknown = { type: "text" }
  const text = body["text"]
  if (text !== undefined && text !== null) {
    if (!isRecord(text)) invalid(`Invalid type for 'text': expected an object, but got ${typeName(text)} instead.`, "text", "invalid_type")
    const format = (text as Record<string, unknown>)["format"]
    if (format !== undefined && format !== null) {
      if (!isRecord(format)) invalid(`Invalid type for 'text.format': expected an object.`, "text.format", "invalid_type")
      const f = format as Record<string, unknown>
      switch (f["type"]) {
        case "text":
          break
        case "json_object":
          jsonObject = true
          break
        case "json_schema":
          if (typeof f["name"] !== "string") invalid("Missing required parameter: 'text.format.name'.", "text.format.name", "missing_required_parameter")
          if (!isRecord(f["schema"])) invalid("Missing required parameter: 'text.format.schema'.", "text.format.schema", "missing_required_parameter")
          responseSchema = f["schema"] as Record<string, unknown>
          break
        default:
          invalid(`Invalid value: '${String(f["type"])}'. Supported values are: 'text', 'json_object', and 'json_schema'.`, "text.format.type", "invalid_value")
      }
      textFormat = f
    }
  }
  return {
    request: {
      route: "responses",
      messages,
      tools,
      toolChoice,
      responseSchema,
      jsonObject,
      maxOutputTokens,
      seed: undefined,
      temperature: requestedTemperature
    },
    stream,
    echo: {
      instructions: instructions ?? null,
      maxOutputTokens: maxOutputTokens ?? null,
      tools: toolsEcho,
      toolChoice: body["tool_choice"] ?? "auto",
      textFormat,
      temperature: requestedTemperature ?? 1,
      topP,
      metadata: isRecord(body["metadata"]) ? body["metadata"] : {},
      parallelToolCalls,
      previousResponseId,
      store,
      user
    }
  }
}
