/**
 * Wire format of `/v1/chat/completions` (the subset we send and read), and the
 * conversions between it and `@effect/ai`'s prompt / response parts.
 *
 * @internal
 */
import * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import type * as JSONSchema from "effect/JSONSchema"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"

// =============================================================================
// Request
// =============================================================================

/** @internal */
export type ContentPart =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image_url"; readonly image_url: { readonly url: string } }

/** @internal */
export interface WireToolCall {
  readonly id: string
  readonly type: "function"
  readonly function: { readonly name: string; readonly arguments: string }
}

/** @internal */
export type WireMessage =
  | { readonly role: "system"; readonly content: string }
  | { readonly role: "user"; readonly content: string | ReadonlyArray<ContentPart> }
  | {
    readonly role: "assistant"
    readonly content: string | null
    readonly tool_calls?: ReadonlyArray<WireToolCall>
  }
  | { readonly role: "tool"; readonly tool_call_id: string; readonly content: string }

/** @internal */
export interface WireTool {
  readonly type: "function"
  readonly function: {
    readonly name: string
    readonly description?: string
    readonly parameters: JSONSchema.JsonSchema7
    readonly strict?: boolean
  }
}

/** @internal */
export type WireToolChoice = "auto" | "none" | "required" | {
  readonly type: "function"
  readonly function: { readonly name: string }
}

/** @internal */
export type WireResponseFormat = {
  readonly type: "json_schema"
  readonly json_schema: {
    readonly name: string
    readonly description?: string
    readonly schema: JSONSchema.JsonSchema7
    readonly strict: boolean
  }
}

/** @internal */
export interface WireRequest {
  readonly model: string
  readonly messages: ReadonlyArray<WireMessage>
  readonly tools?: ReadonlyArray<WireTool>
  readonly tool_choice?: WireToolChoice
  readonly response_format?: WireResponseFormat
  readonly stream?: boolean
  readonly stream_options?: { readonly include_usage: boolean }
  readonly temperature?: number
  readonly max_tokens?: number
  readonly seed?: number
  readonly top_p?: number
  readonly stop?: ReadonlyArray<string>
  readonly [extra: string]: unknown
}

const malformedInput = (description: string) =>
  new AiError.MalformedInput({ module: "ChatCompletions", method: "prepareRequest", description })

const textOnly = (parts: ReadonlyArray<Prompt.UserMessagePart>): string | undefined => {
  if (parts.length === 1 && parts[0]!.type === "text") return parts[0]!.text
  let out = ""
  for (const part of parts) {
    if (part.type !== "text") return undefined
    out += part.text
  }
  return out
}

/** @internal */
export const prepareMessages = (
  prompt: Prompt.Prompt
): Either.Either<Array<WireMessage>, AiError.MalformedInput> => {
  const messages: Array<WireMessage> = []
  for (const message of prompt.content) {
    switch (message.role) {
      case "system": {
        messages.push({ role: "system", content: message.content })
        break
      }
      case "user": {
        const text = textOnly(message.content)
        if (text !== undefined) {
          messages.push({ role: "user", content: text })
          break
        }
        const content: Array<ContentPart> = []
        for (const part of message.content) {
          if (part.type === "text") {
            content.push({ type: "text", text: part.text })
          } else if (part.mediaType.startsWith("image/")) {
            const mediaType = part.mediaType === "image/*" ? "image/jpeg" : part.mediaType
            const url = part.data instanceof URL
              ? part.data.toString()
              : part.data instanceof Uint8Array
              ? `data:${mediaType};base64,${Encoding.encodeBase64(part.data)}`
              : part.data
            content.push({ type: "image_url", image_url: { url } })
          } else {
            return Either.left(malformedInput(`unsupported media type for a file part: '${part.mediaType}'`))
          }
        }
        messages.push({ role: "user", content })
        break
      }
      case "assistant": {
        let text = ""
        const toolCalls: Array<WireToolCall> = []
        for (const part of message.content) {
          if (part.type === "text") text += part.text
          else if (part.type === "tool-call" && !part.providerExecuted) {
            toolCalls.push({
              id: part.id,
              type: "function",
              function: { name: part.name, arguments: JSON.stringify(part.params) }
            })
          }
          // reasoning, files and provider-executed results are not replayed
        }
        messages.push(
          toolCalls.length > 0
            ? { role: "assistant", content: text === "" ? null : text, tool_calls: toolCalls }
            : { role: "assistant", content: text }
        )
        break
      }
      case "tool": {
        for (const part of message.content) {
          messages.push({ role: "tool", tool_call_id: part.id, content: JSON.stringify(part.result) })
        }
        break
      }
    }
  }
  return Either.right(messages)
}

// JSON schemas are derived once per schema AST: deriving is the most expensive part
// of building a structured-output request and the same signature is used many times.
const jsonSchemaCache = new WeakMap<SchemaAST.AST, JSONSchema.JsonSchema7>()

/** @internal */
export const jsonSchemaOf = (ast: SchemaAST.AST): JSONSchema.JsonSchema7 => {
  let schema = jsonSchemaCache.get(ast)
  if (schema === undefined) {
    schema = Tool.getJsonSchemaFromSchemaAst(ast)
    jsonSchemaCache.set(ast, schema)
  }
  return schema
}

// OpenAI requires names matching ^[a-zA-Z0-9_-]{1,64}$.
const wireName = (name: string): string => {
  const cleaned = name.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64)
  return cleaned === "" ? "output" : cleaned
}

// Response formats are built once per schema, object name and strictness: the same
// signature asks for the same format on every call.
const responseFormatCache = new WeakMap<SchemaAST.AST, Map<string, WireResponseFormat>>()

/** @internal */
export const prepareResponseFormat = (
  options: LanguageModel.ProviderOptions,
  strict: boolean
): WireResponseFormat | undefined => {
  if (options.responseFormat.type !== "json") return undefined
  const { objectName, schema } = options.responseFormat
  let formats = responseFormatCache.get(schema.ast)
  if (formats === undefined) {
    formats = new Map()
    responseFormatCache.set(schema.ast, formats)
  }
  const key = `${strict ? "strict" : "loose"}:${objectName}`
  let format = formats.get(key)
  if (format === undefined) {
    const description = Tool.getDescriptionFromSchemaAst(schema.ast)
    format = {
      type: "json_schema",
      json_schema: {
        name: wireName(objectName),
        ...(description === undefined ? {} : { description }),
        schema: jsonSchemaOf(schema.ast),
        strict
      }
    }
    // Bounded: object names are per signature, not per call, but nothing enforces it.
    if (formats.size < 64) formats.set(key, format)
  }
  return format
}

/** @internal */
export const prepareTools = (
  options: LanguageModel.ProviderOptions,
  strict: boolean
): Either.Either<
  { readonly tools: Array<WireTool> | undefined; readonly toolChoice: WireToolChoice | undefined },
  AiError.MalformedInput
> => {
  if (options.tools.length === 0) return Either.right({ tools: undefined, toolChoice: undefined })
  let allowed = options.tools
  let toolChoice: WireToolChoice | undefined = undefined
  const choice = options.toolChoice
  if (typeof choice === "object" && "oneOf" in choice) {
    const names = new Set<string>(choice.oneOf)
    allowed = options.tools.filter((tool) => names.has(tool.name))
    toolChoice = choice.mode === "required" ? "required" : "auto"
  } else if (typeof choice === "object") {
    toolChoice = { type: "function", function: { name: choice.tool } }
  } else {
    toolChoice = choice
  }
  const tools: Array<WireTool> = []
  for (const tool of allowed) {
    if (Tool.isProviderDefined(tool)) {
      return Either.left(
        malformedInput(`provider-defined tool '${tool.name}' is not supported by /v1/chat/completions`)
      )
    }
    if (!Tool.isUserDefined(tool)) continue
    const description = tool.description ?? Tool.getDescriptionFromSchemaAst(tool.parametersSchema.ast)
    tools.push({
      type: "function",
      function: {
        name: tool.name,
        ...(description === undefined ? {} : { description }),
        parameters: jsonSchemaOf(tool.parametersSchema.ast),
        strict
      }
    })
  }
  return Either.right({ tools, toolChoice })
}

// =============================================================================
// Response
// =============================================================================

const NullableString = Schema.optional(Schema.NullOr(Schema.String))
const NullableNumber = Schema.optional(Schema.NullOr(Schema.Number))

const WireUsage = Schema.Struct({
  prompt_tokens: NullableNumber,
  completion_tokens: NullableNumber,
  total_tokens: NullableNumber,
  prompt_tokens_details: Schema.optional(Schema.NullOr(Schema.Struct({ cached_tokens: NullableNumber }))),
  completion_tokens_details: Schema.optional(Schema.NullOr(Schema.Struct({ reasoning_tokens: NullableNumber })))
})

/** @internal */
export type WireUsage = typeof WireUsage.Type

const WireResponseToolCall = Schema.Struct({
  id: Schema.String,
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
})

/** @internal */
export const WireResponse = Schema.Struct({
  id: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  created: NullableNumber,
  choices: Schema.Array(Schema.Struct({
    message: Schema.Struct({
      content: NullableString,
      refusal: NullableString,
      reasoning_content: NullableString,
      reasoning: NullableString,
      tool_calls: Schema.optional(Schema.NullOr(Schema.Array(WireResponseToolCall)))
    }),
    finish_reason: NullableString
  })),
  usage: Schema.optional(Schema.NullOr(WireUsage))
})

/** @internal */
export type WireResponse = typeof WireResponse.Type

const WireStreamToolCall = Schema.Struct({
  index: Schema.optional(Schema.Number),
  id: NullableString,
  function: Schema.optional(Schema.Struct({ name: NullableString, arguments: NullableString }))
})

/** @internal */
export const WireChunk = Schema.Struct({
  id: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  created: NullableNumber,
  choices: Schema.optional(Schema.NullOr(Schema.Array(Schema.Struct({
    delta: Schema.optional(Schema.NullOr(Schema.Struct({
      content: NullableString,
      reasoning_content: NullableString,
      reasoning: NullableString,
      tool_calls: Schema.optional(Schema.NullOr(Schema.Array(WireStreamToolCall)))
    }))),
    finish_reason: NullableString
  })))),
  usage: Schema.optional(Schema.NullOr(WireUsage)),
  // Some servers (vLLM, llama.cpp) report a failure inside the stream.
  error: Schema.optional(Schema.Unknown)
})

/** @internal */
export type WireChunk = typeof WireChunk.Type

const decodeResponseSchema = Schema.decodeUnknownEither(WireResponse)

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const isOptionalString = (u: unknown): boolean => u === undefined || typeof u === "string"
const isNullableString = (u: unknown): boolean => u === undefined || u === null || typeof u === "string"
const isNullableNumber = (u: unknown): boolean => u === undefined || u === null || typeof u === "number"

const isWireUsage = (u: unknown): boolean => {
  if (u === undefined || u === null) return true
  if (!isObject(u)) return false
  if (!isNullableNumber(u.prompt_tokens) || !isNullableNumber(u.completion_tokens) || !isNullableNumber(u.total_tokens)) {
    return false
  }
  const prompt = u.prompt_tokens_details
  if (prompt !== undefined && prompt !== null && !(isObject(prompt) && isNullableNumber(prompt.cached_tokens))) return false
  const completion = u.completion_tokens_details
  return completion === undefined || completion === null ||
    (isObject(completion) && isNullableNumber(completion.reasoning_tokens))
}

const isWireResponseToolCall = (u: unknown): boolean =>
  isObject(u) && typeof u.id === "string" && isObject(u.function) && typeof u.function.name === "string" &&
  typeof u.function.arguments === "string"

const isWireChoice = (u: unknown): boolean => {
  if (!isObject(u) || !isNullableString(u.finish_reason)) return false
  const message = u.message
  if (!isObject(message)) return false
  if (
    !isNullableString(message.content) || !isNullableString(message.refusal) ||
    !isNullableString(message.reasoning_content) || !isNullableString(message.reasoning)
  ) return false
  const toolCalls = message.tool_calls
  if (toolCalls === undefined || toolCalls === null) return true
  if (!Array.isArray(toolCalls)) return false
  for (const call of toolCalls) if (!isWireResponseToolCall(call)) return false
  return true
}

/**
 * Whether a parsed body is a `WireResponse` as it is: the same checks as the Schema, by hand
 * (a few property reads where the decoder walks and copies the whole body). Every field the
 * parts are read from is checked; extra fields are ignored, as the Schema ignores them.
 */
const isWireResponse = (u: unknown): u is WireResponse => {
  if (!isObject(u)) return false
  if (!isOptionalString(u.id) || !isOptionalString(u.model) || !isNullableNumber(u.created)) return false
  if (!isWireUsage(u.usage)) return false
  const choices = u.choices
  if (!Array.isArray(choices)) return false
  for (const choice of choices) if (!isWireChoice(choice)) return false
  return true
}

/**
 * Checks a parsed body against the chat-completions response format: by hand when it
 * matches, else with the Schema (whose ParseError says what is wrong).
 *
 * @internal
 */
export const decodeResponse = (u: unknown): ReturnType<typeof decodeResponseSchema> =>
  isWireResponse(u) ? Either.right(u) : decodeResponseSchema(u)
/** @internal */
export const decodeChunk = Schema.decodeUnknownEither(WireChunk)

const finishReasons: Record<string, Response.FinishReason> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool-calls",
  function_call: "tool-calls",
  content_filter: "content-filter",
  eos: "stop",
  end_turn: "stop"
}

/** @internal */
export const finishReason = (reason: string | null | undefined, hasToolCalls: boolean): Response.FinishReason => {
  if (reason === null || reason === undefined) return hasToolCalls ? "tool-calls" : "unknown"
  return finishReasons[reason] ?? (hasToolCalls ? "tool-calls" : "other")
}

/** @internal */
export const usageOf = (usage: WireUsage | null | undefined): typeof Response.Usage.Encoded => {
  const input = usage?.prompt_tokens ?? undefined
  const output = usage?.completion_tokens ?? undefined
  const total = usage?.total_tokens ?? (input === undefined && output === undefined ? undefined : (input ?? 0) + (output ?? 0))
  const reasoning = usage?.completion_tokens_details?.reasoning_tokens
  const cached = usage?.prompt_tokens_details?.cached_tokens
  return {
    inputTokens: input,
    outputTokens: output,
    totalTokens: total,
    ...(typeof reasoning === "number" ? { reasoningTokens: reasoning } : {}),
    ...(typeof cached === "number" ? { cachedInputTokens: cached } : {})
  }
}

/**
 * The response time, or `undefined` when absent or out of `Date`'s range (where
 * `toISOString` would throw: a defect for a mere metadata field).
 *
 * @internal
 */
export const timestampOf = (created: number | null | undefined): string | undefined => {
  if (typeof created !== "number") return undefined
  const date = new Date(created * 1000)
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString()
}

/** @internal */
export const parseToolParams = (
  name: string,
  args: string,
  method: string
): Either.Either<unknown, AiError.MalformedOutput> => {
  try {
    return Either.right(Tool.unsafeSecureJsonParse(args === "" ? "{}" : args))
  } catch (cause) {
    return Either.left(
      new AiError.MalformedOutput({
        module: "ChatCompletions",
        method,
        description: `Failed to parse the arguments of a call to tool '${name}'`,
        cause
      })
    )
  }
}

/** @internal */
export const makeParts = (
  response: WireResponse
): Either.Either<Array<Response.PartEncoded>, AiError.MalformedOutput> => {
  const parts: Array<Response.PartEncoded> = []
  const timestamp = timestampOf(response.created)
  parts.push({
    type: "response-metadata",
    ...(response.id === undefined ? {} : { id: response.id }),
    ...(response.model === undefined ? {} : { modelId: response.model }),
    ...(timestamp === undefined ? {} : { timestamp })
  })
  const choice = response.choices[0]
  if (choice === undefined) {
    return Either.left(
      new AiError.MalformedOutput({
        module: "ChatCompletions",
        method: "generateText",
        description: "The response has no choices"
      })
    )
  }
  const message = choice.message
  const reasoning = message.reasoning_content ?? message.reasoning
  if (typeof reasoning === "string" && reasoning !== "") parts.push({ type: "reasoning", text: reasoning })
  if (typeof message.content === "string" && message.content !== "") parts.push({ type: "text", text: message.content })
  if (typeof message.refusal === "string" && message.refusal !== "") {
    parts.push({ type: "text", text: "", metadata: { chatCompletions: { refusal: message.refusal } } })
  }
  const toolCalls = message.tool_calls ?? []
  for (const call of toolCalls) {
    const params = parseToolParams(call.function.name, call.function.arguments, "generateText")
    if (Either.isLeft(params)) return Either.left(params.left)
    parts.push({ type: "tool-call", id: call.id, name: call.function.name, params: params.right })
  }
  parts.push({
    type: "finish",
    reason: finishReason(choice.finish_reason, toolCalls.length > 0),
    usage: usageOf(response.usage)
  })
  return Either.right(parts)
}
