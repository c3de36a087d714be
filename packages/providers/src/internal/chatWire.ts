/**
 * The `/v1/chat/completions` wire format: the request we send (built from `@effect/ai`'s prompt,
 * tools and response format) and the replies we accept, as servers really send them: content as
 * a string or as typed parts (Mistral's `text` and `thinking` chunks), reasoning as
 * `reasoning_content` (DeepSeek, vLLM, llama.cpp, xAI) or `reasoning` (OpenRouter, newer vLLM),
 * `refusal`, tool calls with or without `index`, arguments as a string or an object, usage in
 * `usage` or Groq's `x_groq.usage`, and an `error` object inside a 200 body or a stream.
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

/** @internal */
export type WireMessage =
  | { readonly role: "system"; readonly content: string }
  | {
    readonly role: "user"
    readonly content:
      | string
      | ReadonlyArray<
        | { readonly type: "text"; readonly text: string }
        | { readonly type: "image_url"; readonly image_url: { readonly url: string } }
      >
  }
  | {
    readonly role: "assistant"
    readonly content: string | null
    readonly tool_calls?: ReadonlyArray<{
      readonly id: string
      readonly type: "function"
      readonly function: { readonly name: string; readonly arguments: string }
    }>
  }
  | { readonly role: "tool"; readonly tool_call_id: string; readonly content: string }

/** How structured output is asked for: degraded per model when a server rejects a form. @internal */
export type JsonMode = "json_schema" | "json_object" | "prompt"

const malformedInput = (description: string) =>
  new AiError.MalformedInput({ module: "ChatCompletions", method: "prepareRequest", description })

/** @internal */
export const prepareMessages = (prompt: Prompt.Prompt): Either.Either<Array<WireMessage>, AiError.MalformedInput> => {
    const messages: Array<WireMessage> = []
    for (const message of prompt.content) {
      switch (message.role) {
        case "system":
          messages.push({ role: "system", content: message.content })
          break
        case "user": {
          if (message.content.every((part) => part.type === "text")) {
            messages.push({ role: "user", content: message.content.map((part) => part.type === "text" ? part.text : "").join("") })
            break
          }
          const content: Array<
            { type: "text"; text: string } | { type: "image_url"; image_url: { url: string } }
          > = []
          for (const part of message.content) {
            if (part.type === "text") content.push({ type: "text", text: part.text })
            else if (part.mediaType.startsWith("image/")) {
              const mediaType = part.mediaType === "image/*" ? "image/jpeg" : part.mediaType
              const url = part.data instanceof URL
                ? part.data.toString()
                : part.data instanceof Uint8Array
                ? `data:${mediaType};base64,${Encoding.encodeBase64(part.data)}`
                : part.data
              content.push({ type: "image_url", image_url: { url } })
            } else {
              return Either.left(malformedInput(`a file of type '${part.mediaType}' cannot be sent to /v1/chat/completions`))
            }
          }
          messages.push({ role: "user", content })
          break
        }
        case "assistant": {
          let text = ""
          const toolCalls: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }> = []
          for (const part of message.content) {
            if (part.type === "text") text += part.text
            else if (part.type === "tool-call" && !part.providerExecuted) {
              toolCalls.push({ id: part.id, type: "function", function: { name: part.name, arguments: JSON.stringify(part.params) } })
            }
          }
          messages.push(
            toolCalls.length > 0
              ? { role: "assistant", content: text === "" ? null : text, tool_calls: toolCalls }
              : { role: "assistant", content: text }
          )
          break
        }
        case "tool":
          for (const part of message.content) {
            messages.push({ role: "tool", tool_call_id: part.id, content: JSON.stringify(part.result) })
          }
          break
      }
    }
    return Either.right(messages)
}

// OpenAI requires names matching ^[a-zA-Z0-9_-]{1,64}$.
const wireName = (name: string): string => name.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64) || "output"

const schemaOf = (options: LanguageModel.ProviderOptions): JSONSchema.JsonSchema7 | undefined =>
  options.responseFormat.type === "json" ? Tool.getJsonSchemaFromSchemaAst(options.responseFormat.schema.ast) : undefined

/**
 * The request fields for structured output in a given mode, and the instruction that carries
 * the schema when the server cannot take it as `json_schema`.
 *
 * @internal
 */
export const prepareResponseFormat = (
  options: LanguageModel.ProviderOptions,
  mode: JsonMode,
  strict: boolean
): { readonly responseFormat: unknown; readonly instruction: string | undefined } => {
  const schema = schemaOf(options)
  if (schema === undefined || options.responseFormat.type !== "json") return { responseFormat: undefined, instruction: undefined }
  const { objectName } = options.responseFormat
  if (mode === "json_schema") {
    const description = Tool.getDescriptionFromSchemaAst(options.responseFormat.schema.ast)
    return {
      responseFormat: {
        type: "json_schema",
        json_schema: { name: wireName(objectName), ...(description === undefined ? {} : { description }), schema, strict }
      },
      instruction: undefined
    }
  }
  return {
    responseFormat: mode === "json_object" ? { type: "json_object" } : undefined,
    instruction: `Respond with only a JSON object that conforms to this JSON schema:\n${JSON.stringify(schema)}`
  }
}

/** @internal */
export const prepareTools = (
  options: LanguageModel.ProviderOptions,
  strict: boolean
): Either.Either<{ readonly tools: unknown; readonly toolChoice: unknown }, AiError.MalformedInput> => {
  if (options.tools.length === 0) return Either.right({ tools: undefined, toolChoice: undefined })
  const choice = options.toolChoice
  let allowed = options.tools
  let toolChoice: unknown = choice
  if (typeof choice === "object" && "oneOf" in choice) {
    const names = new Set<string>(choice.oneOf)
    allowed = options.tools.filter((tool) => names.has(tool.name))
    toolChoice = choice.mode === "required" ? "required" : "auto"
  } else if (typeof choice === "object") {
    toolChoice = { type: "function", function: { name: choice.tool } }
  }
  const tools: Array<unknown> = []
  for (const tool of allowed) {
    if (Tool.isProviderDefined(tool)) {
      return Either.left(malformedInput(`the provider-defined tool '${tool.name}' is not supported by /v1/chat/completions`))
    }
    const description = tool.description ?? Tool.getDescriptionFromSchemaAst(tool.parametersSchema.ast)
    tools.push({
      type: "function",
      function: {
        name: tool.name,
        ...(description === undefined ? {} : { description }),
        parameters: Tool.getJsonSchemaFromSchemaAst(tool.parametersSchema.ast),
        strict
      }
    })
  }
  return Either.right({ tools, toolChoice })
}

const Nullable = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))

// Mistral's typed content: `text` chunks, and `thinking` chunks holding text chunks.
const ContentPart = Schema.Struct({
  type: Schema.String,
  text: Nullable(Schema.String),
  thinking: Nullable(Schema.Union(Schema.String, Schema.Array(Schema.Struct({ text: Nullable(Schema.String) }))))
})

const Content = Nullable(Schema.Union(Schema.String, Schema.Array(ContentPart)))

const Usage = Schema.Struct({
  prompt_tokens: Nullable(Schema.Number),
  completion_tokens: Nullable(Schema.Number),
  total_tokens: Nullable(Schema.Number),
  prompt_tokens_details: Nullable(Schema.Struct({ cached_tokens: Nullable(Schema.Number) })),
  completion_tokens_details: Nullable(Schema.Struct({ reasoning_tokens: Nullable(Schema.Number) }))
})

const Arguments = Nullable(Schema.Union(Schema.String, Schema.Record({ key: Schema.String, value: Schema.Unknown })))

const ToolCall = Schema.Struct({
  index: Nullable(Schema.Number),
  id: Nullable(Schema.String),
  function: Nullable(Schema.Struct({ name: Nullable(Schema.String), arguments: Arguments }))
})

/** @internal */
export type WireToolCall = typeof ToolCall.Type

const Message = Schema.Struct({
  content: Content,
  reasoning_content: Nullable(Schema.String),
  reasoning: Nullable(Schema.String),
  refusal: Nullable(Schema.String),
  tool_calls: Nullable(Schema.Array(ToolCall))
})

/** @internal */
export type WireMessageReply = typeof Message.Type

const envelope = {
  id: Nullable(Schema.String),
  model: Nullable(Schema.String),
  created: Nullable(Schema.Number),
  system_fingerprint: Nullable(Schema.String),
  usage: Nullable(Usage),
  x_groq: Nullable(Schema.Struct({ usage: Nullable(Usage) })),
  error: Schema.optional(Schema.Unknown)
}

const Choice = Schema.Struct({
  index: Nullable(Schema.Number),
  message: Nullable(Message),
  delta: Nullable(Message),
  finish_reason: Nullable(Schema.String),
  logprobs: Schema.optional(Schema.Unknown),
  content_filter_results: Schema.optional(Schema.Unknown)
})

/** A reply body, or one streamed chunk (`delta` instead of `message`). @internal */
export const WireReply = Schema.Struct({ ...envelope, choices: Nullable(Schema.Array(Choice)) })

/** @internal */
export type WireReply = typeof WireReply.Type

/** Reasoning and text of a message or delta's `content`, whichever form it came in. @internal */
export const contentOf = (message: WireMessageReply): { readonly text: string; readonly reasoning: string } => {
  const reasoning = message.reasoning_content ?? message.reasoning ?? ""
  const content = message.content
  if (content === undefined || content === null) return { text: "", reasoning }
  if (typeof content === "string") return { text: content, reasoning }
  let text = ""
  let thought = reasoning
  for (const part of content) {
    if (part.type === "text") text += part.text ?? ""
    else if (part.type === "thinking") {
      const thinking = part.thinking
      thought += typeof thinking === "string" ? thinking : (thinking ?? []).map((t) => t.text ?? "").join("")
    }
  }
  return { text, reasoning: thought }
}

/** @internal */
export const argumentsText = (args: string | Readonly<Record<string, unknown>> | null | undefined): string =>
  args === undefined || args === null ? "" : typeof args === "string" ? args : JSON.stringify(args)

/** @internal */
export const usageOf = (reply: WireReply): typeof Response.Usage.Encoded => {
  const usage = reply.usage ?? reply.x_groq?.usage
  const input = usage?.prompt_tokens ?? undefined
  const output = usage?.completion_tokens ?? undefined
  const reasoning = usage?.completion_tokens_details?.reasoning_tokens
  const cached = usage?.prompt_tokens_details?.cached_tokens
  return {
    inputTokens: input,
    outputTokens: output,
    totalTokens: usage?.total_tokens ?? (input === undefined && output === undefined ? undefined : (input ?? 0) + (output ?? 0)),
    ...(typeof reasoning === "number" ? { reasoningTokens: reasoning } : {}),
    ...(typeof cached === "number" ? { cachedInputTokens: cached } : {})
  }
}

/** Whether a reply carries usage (the last chunk of a stream with `include_usage`). @internal */
export const hasUsage = (reply: WireReply): boolean => (reply.usage ?? reply.x_groq?.usage) != null

/** Response metadata, never taken from an empty chunk (Azure's prompt-filter chunk has `id: ""`). @internal */
export const metadataOf = (reply: WireReply): Response.ResponseMetadataPartEncoded | undefined => {
  if (!reply.id && !reply.model) return undefined
  const date = typeof reply.created === "number" ? new Date(reply.created * 1000) : undefined
  return {
    type: "response-metadata",
    ...(reply.id ? { id: reply.id } : {}),
    ...(reply.model ? { modelId: reply.model } : {}),
    ...(date !== undefined && !Number.isNaN(date.getTime()) ? { timestamp: date.toISOString() } : {})
  }
}

const finishReasons: Record<string, Response.FinishReason> = {
  stop: "stop",
  eos: "stop",
  end_turn: "stop",
  length: "length",
  max_tokens: "length",
  tool_calls: "tool-calls",
  function_call: "tool-calls",
  content_filter: "content-filter",
  error: "error"
}

/** @internal */
export const finishReasonOf = (reason: string | null | undefined, hasToolCalls: boolean): Response.FinishReason =>
  reason === null || reason === undefined
    ? hasToolCalls ? "tool-calls" : "unknown"
    : finishReasons[reason] ?? (hasToolCalls ? "tool-calls" : "other")
