import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as AiTool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Adapter from "../Adapter.js"
import type * as Signature from "../Signature.js"
import type * as Tool from "../Tool.js"
import { isCacheHit } from "./cacheMarker.js"
import { marker } from "./markers.js"
import { formatValue } from "./valueText.js"

// ReAct's step through the model's own tool calling: the react predictor keeps its signature
// (inputs and the trajectory in, `next_thought`, `next_tool_name`, `next_tool_args` out), and
// this adapter, used for that predictor only, sends the tools as `@effect/ai` tools and the
// trajectory as tool-call and tool-result messages, and reads the first tool call back into
// those outputs. ReAct runs the tools itself (events, errors fed back), so `@effect/ai` is told
// not to (`disableToolCallResolution`), which also lets `LmCache` keep these calls.

/** A step as the native trajectory input holds it. */
export const StepSchema = Schema.Struct({
  thought: Schema.String,
  toolName: Schema.String,
  toolArgs: Schema.Unknown,
  observation: Schema.String
})

interface JsonObjectSchema {
  readonly properties?: Readonly<Record<string, object>>
  readonly required?: ReadonlyArray<string>
}

// The tool's parameters for the provider: each property's JSON schema as our tool shows it; any
// value is accepted back (our tool decodes its arguments and feeds errors back to the model),
// so that a call with bad arguments is a step, not a failed reply.
const parametersOf = (tool: Tool.Tool<unknown>): Schema.Struct.Fields => {
  const schema = tool.parametersJsonSchema as JsonObjectSchema
  const required = new Set(schema.required ?? [])
  const fields: Record<string, Schema.Schema.Any | Schema.PropertySignature.Any> = {}
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const value = Schema.Unknown.annotations({ jsonSchema: property })
    fields[name] = required.has(name) ? value : Schema.optional(value)
  }
  return fields
}

/** The tools, and `finish`, as an `@effect/ai` toolkit whose handlers are never called. */
export const toolkitOf = (
  tools: ReadonlyArray<Tool.Tool<unknown>>,
  finish: { readonly name: string; readonly description: string }
): Toolkit.WithHandler<Record<string, AiTool.Any>> => {
  const all: Record<string, AiTool.Any> = {}
  for (const tool of tools) {
    all[tool.name] = AiTool.make(tool.name, {
      description: tool.description,
      parameters: parametersOf(tool),
      success: Schema.Unknown
    })
  }
  all[finish.name] = AiTool.make(finish.name, { description: finish.description, success: Schema.Unknown })
  return {
    tools: all,
    handle: (name) => Effect.dieMessage(`ReAct runs its tools itself; ${String(name)} was not to be run by @effect/ai`)
  }
}

const user = (text: string) => Prompt.userMessage({ content: [Prompt.textPart({ text })] })

const inputsText = (signature: Signature.Any, values: Readonly<Record<string, unknown>>, trajectory: string): string =>
  signature.inputFields
    .filter((field) => field.name !== trajectory && values[field.name] !== undefined)
    .map((field) => `${marker(field.name)}\n${formatValue(field, values[field.name], "input")}`)
    .join("\n\n")

const stepMessages = (steps: unknown, prefix: string): Array<Prompt.Message> => {
  const decoded = Schema.decodeUnknownEither(Schema.Array(StepSchema))(steps)
  if (Either.isLeft(decoded)) return []
  return decoded.right.flatMap((step, i) => {
    const id = `${prefix}${i}`
    return [
      Prompt.assistantMessage({
        content: [
          ...(step.thought.length > 0 ? [Prompt.textPart({ text: step.thought })] : []),
          Prompt.toolCallPart({ id, name: step.toolName, params: step.toolArgs ?? {}, providerExecuted: false })
        ]
      }),
      Prompt.toolMessage({
        content: [Prompt.toolResultPart({ id, name: step.toolName, result: step.observation, isFailure: false, providerExecuted: false })]
      })
    ]
  })
}

const Outputs = Schema.parseJson(Schema.Struct({
  next_thought: Schema.String,
  next_tool_name: Schema.String,
  next_tool_args: Schema.Unknown
}))

/** The adapter for ReAct's react predictor in native mode (`trajectory` names its step-list input). */
export const adapter = (
  toolkit: Toolkit.WithHandler<Record<string, AiTool.Any>>,
  trajectory: string
): Adapter.Adapter => {
  const format = (request: Adapter.FormatRequest): Prompt.Prompt => {
    const messages: Array<Prompt.Message> = [Prompt.systemMessage({ content: request.instructions })]
    // A demo: its inputs, then the steps it took (its trajectory), then its next step.
    request.demos.forEach((demo, d) => {
      messages.push(user(inputsText(request.signature, demo, trajectory)), ...stepMessages(demo[trajectory] ?? [], `demo${d}_`))
      if (typeof demo["next_tool_name"] === "string") {
        messages.push(...stepMessages([{
          thought: demo["next_thought"] ?? "",
          toolName: demo["next_tool_name"],
          toolArgs: demo["next_tool_args"] ?? {},
          observation: "(example)"
        }], `demo${d}_next_`))
      }
    })
    messages.push(user(inputsText(request.signature, request.inputs, trajectory) || "Begin."))
    messages.push(...stepMessages(request.inputs[trajectory] ?? [], "call_"))
    for (const failed of request.failedReplies) {
      messages.push(
        Prompt.assistantMessage({ content: [Prompt.textPart({ text: failed.reply })] }),
        user(`Your previous reply could not be used: ${failed.issue}. Call exactly one of the tools.`)
      )
    }
    return Prompt.fromMessages(messages)
  }

  const generate: Adapter.Adapter["generate"] = (_signature, prompt) =>
    Effect.map(
      LanguageModel.generateText({ prompt, toolkit, toolChoice: "required", disableToolCallResolution: true }),
      (response): Adapter.Reply => {
        const call = response.content.find((part) => part.type === "tool-call")
        return {
          // The step as JSON, read back by `parse`; a reply with no tool call is its text.
          text: call === undefined
            ? response.text
            : JSON.stringify({ next_thought: response.text, next_tool_name: call.name, next_tool_args: call.params }),
          usage: response.usage,
          finishReason: response.finishReason,
          cached: isCacheHit(response.content)
        }
      }
    )

  const parse: Adapter.Adapter["parse"] = (_signature, text) =>
    Either.mapBoth(Schema.decodeUnknownEither(Outputs)(text), {
      onLeft: () => ({ field: undefined, issue: "the reply called no tool" }),
      onRight: (values) => ({ values: { ...values }, nearMisses: [] })
    })

  return {
    name: "NativeToolCalling",
    format,
    formatOutputs: (_signature, outputs) => JSON.stringify(outputs),
    parse,
    generate,
    streamParser: () => Adapter.noFieldStream
  }
}
