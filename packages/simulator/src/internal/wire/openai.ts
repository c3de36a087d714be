/**
 * What OpenAI's two APIs (chat completions and Responses) share: the error body, its types and
 * codes, and the API key check.
 */
import type { Tool, ToolChoice } from "../../Script.js"
import type { InBandError } from "../plan/ReplyPlan.js"
import { invalid, typeName } from "./validation.js"
import { isRecord } from "../json.js"
import { bearer } from "./WireFormat.js"

/** OpenAI's `error.type` for a status. */
const errorType = (status: number): string => {
  if (status === 429) return "requests"
  if (status >= 500) return "server_error"
  return "invalid_request_error"
}

/** OpenAI's `error.code` for a status when none is more specific. */
const defaultCode = (status: number): string | null => {
  if (status === 429) return "rate_limit_exceeded"
  if (status === 401) return "invalid_api_key"
  if (status === 404) return "not_found"
  return null
}

/** OpenAI's error body. */
const errorBody = (status: number, message: string, param: string | null = null, code: string | null = null) => ({
  error: { message, type: errorType(status), param, code: code ?? defaultCode(status) }
})

/** The body of an error sent inside a reply or a stream. */
export const inBandErrorBody = (error: InBandError) => ({
  error: { message: error.message, type: "server_error", param: null, code: error.kind === "overloaded" ? "overloaded" : null }
})

/** An API key as OpenAI prints it in errors. */
const redact = (key: string): string =>
  key.length <= 8 ? "*".repeat(key.length) : `${key.slice(0, 3)}${"*".repeat(Math.min(20, key.length - 7))}${key.slice(-4)}`

const authorized = (headers: Readonly<Record<string, string | undefined>>, apiKey: string): boolean =>
  bearer(headers) === apiKey

const unauthorizedMessage = (headers: Readonly<Record<string, string | undefined>>): string => {
  const key = bearer(headers)
  return key === undefined || key === ""
    ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
    : `Incorrect API key provided: ${redact(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`
}

/** The error bodies and the key check of both OpenAI APIs. */
export const errorsAndKeys = { errorBody, authorized, unauthorizedMessage }

/** The part types of one OpenAI API's message content. */
export interface PartTypes {
  /** Parts whose `text` is the message's text. */
  readonly text: ReadonlyArray<string>
  /** Parts read as a placeholder (`[image_url]`): the simulator does not look at them. */
  readonly placeholder: ReadonlyArray<string>
  /** The API's list of supported types, as its 400 names them. */
  readonly supported: string
}

/** The text of a message's content, a string or an array of typed parts (a bad part is a 400). */
export const contentText = (content: unknown, param: string, types: PartTypes, expected: string): string => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) {
    return invalid(`Invalid type for '${param}': expected one of a string or ${expected}, but got ${typeName(content)} instead.`, param, "invalid_type")
  }
  let text = ""
  content.forEach((part: unknown, j) => {
    const at = `${param}[${j}]`
    if (!isRecord(part)) return invalid(`Invalid type for '${at}': expected an object, but got ${typeName(part)} instead.`, at, "invalid_type")
    const type = String(part["type"])
    if (types.text.includes(type)) {
      if (typeof part["text"] !== "string") invalid(`Missing required parameter: '${at}.text'.`, `${at}.text`, "missing_required_parameter")
      text += part["text"]
    } else if (type === "refusal") text += typeof part["refusal"] === "string" ? part["refusal"] : ""
    else if (types.placeholder.includes(type)) text += `[${type}]`
    else invalid(`Invalid value: '${type}'. Supported values are: ${types.supported}.`, `${at}.type`, "invalid_value")
  })
  return text
}

/** The tool choices both OpenAI APIs accept as a string. */
export const stringToolChoices: Readonly<Record<string, ToolChoice>> = {
  auto: { _tag: "Auto" },
  none: { _tag: "None" },
  required: { _tag: "Required", among: undefined }
}

/** A reader of the tool names in a tool choice: each must name one of `tools` (else a 400 saying `notFound`). */
export const toolNamed = (tools: ReadonlyArray<Tool>, notFound: (name: string) => string) => (name: unknown, param: string): string => {
  if (typeof name !== "string") return invalid(`Missing required parameter: '${param}'.`, param, "missing_required_parameter")
  return tools.some((t) => t.name === name) ? name : invalid(notFound(name), "tool_choice", null)
}
