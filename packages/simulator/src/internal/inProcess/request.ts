/**
 * An in-process call as the simulator's request: the prompt's messages reduced to text, the
 * toolkit's tools and the response schema as JSON schemas, and the call's sampling settings.
 */
import type * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Effect from "effect/Effect"
import * as JSONSchema from "effect/JSONSchema"
import type * as Schema from "effect/Schema"
import type * as Script from "../../Script.js"
import type { Config } from "../../Simulator.js"
import type { SimRequest } from "../answer/request.js"
import { noJsonSchema } from "./errors.js"

/** The sampling settings of one call (the simulator's `Config`, with core's `LmConfig` over it). */
type Settings = Config.Service

const toMessages = (prompt: Prompt.Prompt): Array<Script.Message> =>
  prompt.content.map((m): Script.Message => {
    switch (m.role) {
      case "system":
        return { role: "system", text: m.content }
      case "user":
        return { role: "user", text: m.content.map((p) => p.type === "text" ? p.text : `[file ${p.mediaType}]`).join("") }
      case "assistant":
        return {
          role: "assistant",
          text: m.content.map((p) =>
            p.type === "text"
              ? p.text
              : p.type === "tool-call"
              ? `[tool call ${p.name} ${JSON.stringify(p.params)}]`
              : p.type === "tool-result"
              ? `[tool result ${p.name} ${JSON.stringify(p.result)}]`
              : ""
          ).join("")
        }
      case "tool":
        return { role: "tool", text: m.content.map((p) => JSON.stringify(p.result) ?? "").join("") }
    }
  })

const toToolChoice = (choice: LanguageModel.ToolChoice<string>): Script.ToolChoice => {
  if (choice === "auto") return { _tag: "Auto" }
  if (choice === "none") return { _tag: "None" }
  if (choice === "required") return { _tag: "Required", among: undefined }
  if ("tool" in choice) return { _tag: "Tool", name: choice.tool }
  return choice.mode === "required" ? { _tag: "Required", among: choice.oneOf } : { _tag: "Auto" }
}

/** Reads calls into requests, with the JSON schemas of tools and response schemas made once each. */
export const makeReader = () => {
  const tools = new WeakMap<Tool.Any, Script.Tool>()
  const schemas = new WeakMap<Schema.Schema.Any, Script.JsonSchema>()

  const toolOf = (tool: Tool.Any): Script.Tool => {
    let t = tools.get(tool)
    if (t === undefined) {
      t = {
        name: tool.name,
        description: tool.description ?? Tool.getDescriptionFromSchemaAst(tool.parametersSchema.ast),
        parameters: Tool.getJsonSchemaFromSchemaAst(tool.parametersSchema.ast) as unknown as Script.JsonSchema
      }
      tools.set(tool, t)
    }
    return t
  }

  const schemaOf = (schema: Schema.Schema.Any, method: string): Effect.Effect<Script.JsonSchema, AiError.AiError> => {
    const hit = schemas.get(schema)
    if (hit !== undefined) return Effect.succeed(hit)
    return Effect.try({
      try: () => {
        const json = JSONSchema.make(schema) as unknown as Script.JsonSchema
        schemas.set(schema, json)
        return json
      },
      catch: (cause) => noJsonSchema(method, cause)
    })
  }

  return (options: LanguageModel.ProviderOptions, settings: Settings, method: string): Effect.Effect<SimRequest, AiError.AiError> =>
    Effect.map(
      options.responseFormat.type === "json" ? schemaOf(options.responseFormat.schema, method) : Effect.succeed(undefined),
      (responseSchema): SimRequest => ({
        route: "in-process",
        messages: toMessages(options.prompt),
        tools: options.tools.map(toolOf),
        toolChoice: toToolChoice(options.toolChoice),
        responseSchema,
        jsonObject: false,
        maxOutputTokens: settings.maxOutputTokens,
        seed: settings.seed,
        temperature: settings.temperature
      })
    )
}
