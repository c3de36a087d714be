/**
 * The JSON adapter: asks the provider for JSON-schema structured output derived from the
 * output Schema, and still reads replies that wrap the JSON object in a fence or in text
 * (for providers without structured output).
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Adapter from "./Adapter.js"
import type { FieldInfo } from "./internal/fieldInfo.js"
import { fieldDescriptions, marker, objective } from "./internal/promptText.js"
import { memo } from "./internal/memo.js"
import { formatValue, truncate, unfence } from "./internal/valueText.js"
import type * as Signature from "./Signature.js"

// The system message itself (not only its text) is kept per signature and instructions:
// messages are immutable, and building one per call costs an object spread per call.
const systemMessage = (signature: Signature.Any, instructions: string): Prompt.SystemMessage =>
  memo(
    signature,
    `json.system:${instructions}`,
    () => Prompt.systemMessage({ content: buildSystemMessage(signature, instructions) })
  )

const buildSystemMessage = (signature: Signature.Any, instructions: string): string => {
  const inputs = signature.inputFields.map((f) => `${marker(f.name)}\n{${f.name}}`).join("\n\n")
  const outputs = signature.outputFields.map((f) => {
    const note = f.schemaNote === undefined ? "" : `        ${f.schemaNote}`
    return `  "${f.name}": {${f.name}}${note}`
  })
  return [
    fieldDescriptions(signature.inputFields, signature.outputFields),
    "All interactions will be structured in the following way, with the appropriate values filled in.",
    "",
    ...(inputs.length > 0 ? ["Inputs will have the following structure:", "", inputs, ""] : []),
    "Outputs will be a JSON object with the following fields.",
    "",
    `{\n${outputs.join(",\n")}\n}`,
    objective(instructions)
  ].join("\n")
}

const formatInputs = (fields: ReadonlyArray<FieldInfo>, values: Readonly<Record<string, unknown>>): string =>
  fields
    .filter((f) => f.name in values && values[f.name] !== undefined)
    .map((f) => `${marker(f.name)}\n${formatValue(f, values[f.name])}`)
    .join("\n\n")

const outputObject = (signature: Signature.Any, values: Readonly<Record<string, unknown>>) => {
  const out: Record<string, unknown> = {}
  for (const field of signature.outputFields) {
    if (field.name in values && values[field.name] !== undefined) out[field.name] = values[field.name]
  }
  return out
}

const instructionLine = (signature: Signature.Any): string =>
  memo(signature, "json.instructionLine", () => buildInstructionLine(signature))

const buildInstructionLine = (signature: Signature.Any): string =>
  `Respond with a JSON object in the following order of fields: ${
    signature.outputFields.map((f) => `\`${f.name}\``).join(", then ")
  }.`

const user = (text: string) => Prompt.userMessage({ content: [Prompt.textPart({ text })] })
const assistant = (text: string) => Prompt.assistantMessage({ content: [Prompt.textPart({ text })] })

const formatOutputs = (signature: Signature.Any, outputs: Readonly<Record<string, unknown>>): string =>
  JSON.stringify(outputObject(signature, outputs))

const format = (request: Adapter.FormatRequest): Prompt.Prompt => {
  const { signature } = request
  const messages: Array<Prompt.Message> = [
    systemMessage(signature, request.instructions)
  ]
  for (const demo of request.demos) {
    const inputs = formatInputs(signature.inputFields, demo)
    const outputs = outputObject(signature, demo)
    if (inputs.length === 0 || Object.keys(outputs).length === 0) continue
    messages.push(user(inputs), assistant(JSON.stringify(outputs)))
  }
  const line = instructionLine(signature)
  const inputs = formatInputs(signature.inputFields, request.inputs)
  messages.push(user(inputs.length === 0 ? line : `${inputs}\n\n${line}`))
  for (const failed of request.failedReplies) {
    messages.push(assistant(failed.reply), user(`Your previous reply could not be parsed: ${failed.issue}\n\n${line}`))
  }
  return Prompt.fromMessages(messages)
}

// Where a reply's JSON object may be, in order; each is computed only when the ones before
// it did not parse (a well-formed reply, nearly all of them, costs one trim and one parse).
const jsonCandidates: ReadonlyArray<(text: string) => string | undefined> = [
  (text) => text.trim(),
  unfence,
  (text) => {
    const fenced = /```(?:json)?\s*\n?([\s\S]*?)```/i.exec(text)
    return fenced?.[1] === undefined ? undefined : fenced[1].trim()
  },
  (text) => {
    const first = text.indexOf("{")
    const last = text.lastIndexOf("}")
    return first !== -1 && last > first ? text.slice(first, last + 1) : undefined
  }
]

/**
 * Finds the JSON object in a reply: the whole text, a fenced block, or the outermost braces.
 *
 * @since 0.1.0
 */
export const extractJsonObject = (text: string): Either.Either<Record<string, unknown>, string> => {
  for (const candidateOf of jsonCandidates) {
    const candidate = candidateOf(text)
    if (candidate === undefined) continue
    try {
      const parsed: unknown = JSON.parse(candidate)
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        return Either.right(parsed as Record<string, unknown>)
      }
    } catch {
      // try the next candidate
    }
  }
  return Either.left(
    text.trim().length === 0 ? "the reply is empty; expected a JSON object" : `the reply holds no JSON object: ${truncate(text, 200)}`
  )
}

const parse = (signature: Signature.Any, text: string): Either.Either<Record<string, unknown>, Adapter.ParseIssue> =>
  Either.flatMap(
    Either.mapLeft(extractJsonObject(text), (issue): Adapter.ParseIssue => ({ field: undefined, issue })),
    (object) => {
      const out: Record<string, unknown> = {}
      for (const field of signature.outputFields) {
        if (!(field.name in object)) {
          if (field.optional) continue
          return Either.left({ field: field.name, issue: `the JSON object has no "${field.name}" key` })
        }
        out[field.name] = object[field.name]
      }
      return Either.right(out)
    }
  )

// `generateObject` decodes the reply with `Schema.parseJson(schema)`. We pass a schema that
// accepts any JSON but advertises the output struct's JSON schema to the provider, and read
// the fields ourselves, so that one reader (with its fallbacks) serves every provider.
const structuredOutputSchema = (signature: Signature.Any) =>
  memo(signature, "json.structuredOutputSchema", () => makeStructuredOutputSchema(signature))

const makeStructuredOutputSchema = (signature: Signature.Any) =>
  Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
    identifier: signature.name,
    jsonSchema: withoutMeta(JSONSchema.make(signature.output))
  })

const withoutMeta = (root: JSONSchema.JsonSchema7Root): object => {
  const { $schema: _ignored, ...rest } = root
  return rest
}

// When the provider's text is not JSON, `generateObject` fails with MalformedOutput whose cause
// is the ParseError of `parseJson`; its top-level `actual` is the raw text. Recover it so that
// the fallback reader can try fenced or embedded JSON.
const rawTextOf = (error: AiError.AiError): string | undefined => {
  if (error._tag !== "MalformedOutput") return undefined
  const cause: unknown = error.cause
  if (!ParseResult.isParseError(cause)) return undefined
  const actual: unknown = cause.issue.actual
  return typeof actual === "string" ? actual : undefined
}

const generate: Adapter.Adapter["generate"] = (signature, prompt) =>
  LanguageModel.generateObject({
    prompt,
    schema: structuredOutputSchema(signature),
    objectName: signature.name
  }).pipe(
    Effect.map((response): Adapter.Reply => ({
      text: response.text,
      usage: response.usage,
      finishReason: response.finishReason
    })),
    Effect.catchIf(
      (error): error is AiError.MalformedOutput => rawTextOf(error) !== undefined,
      (error) =>
        Effect.succeed<Adapter.Reply>({
          text: rawTextOf(error) ?? "",
          // usage of the failed reply is not exposed by generateObject
          usage: {},
          finishReason: "unknown"
        })
    )
  )

/**
 * The JSON adapter.
 *
 * @example
 * ```ts
 * import { Adapter, JsonAdapter, Predict, Signature } from "@effect-dspy/core"
 *
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const program = qa({ question: "Why is the sky blue?" }).pipe(Adapter.withAdapter(JsonAdapter.adapter))
 * ```
 *
 * @since 0.1.0
 */
export const adapter: Adapter.Adapter = {
  name: "JsonAdapter",
  format,
  formatOutputs,
  parse,
  generate
}
