/**
 * The field-marker chat adapter: DSPy's `[[ ## field ## ]]` format, ending with
 * `[[ ## completed ## ]]`. The exact text is specified in `PROMPT_FORMAT.md`.
 *
 * @since 0.1.0
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Adapter from "./Adapter.js"
import type { FieldInfo } from "./internal/fieldInfo.js"
import { fieldDescriptions, marker, objective } from "./internal/promptText.js"
import { memo } from "./internal/memo.js"
import { formatValue, readValue } from "./internal/valueText.js"
import type * as Signature from "./Signature.js"

const completed = marker("completed")

// The system message itself (not only its text) is kept per signature and instructions:
// messages are immutable, and building one per call costs an object spread per call.
const systemMessage = (signature: Signature.Any, instructions: string): Prompt.SystemMessage =>
  memo(
    signature,
    `chat.system:${instructions}`,
    () => Prompt.systemMessage({ content: buildSystemMessage(signature, instructions) })
  )

const buildSystemMessage = (signature: Signature.Any, instructions: string): string => {
  const structure: Array<string> = []
  for (const field of signature.inputFields) structure.push(`${marker(field.name)}\n{${field.name}}`)
  for (const field of signature.outputFields) {
    const note = field.schemaNote
    structure.push(`${marker(field.name)}\n{${field.name}}${note === undefined ? "" : `        ${note}`}`)
  }
  structure.push(completed)
  return [
    fieldDescriptions(signature.inputFields, signature.outputFields),
    "All interactions will be structured in the following way, with the appropriate values filled in.",
    "",
    structure.join("\n\n"),
    objective(instructions)
  ].join("\n")
}

const formatFields = (fields: ReadonlyArray<FieldInfo>, values: Readonly<Record<string, unknown>>): string => {
  const parts: Array<string> = []
  for (const field of fields) {
    if (!(field.name in values) || values[field.name] === undefined) continue
    parts.push(`${marker(field.name)}\n${formatValue(field, values[field.name])}`)
  }
  return parts.join("\n\n")
}

const instructionLine = (signature: Signature.Any): string =>
  memo(signature, "chat.instructionLine", () => buildInstructionLine(signature))

const buildInstructionLine = (signature: Signature.Any): string => {
  const fields = signature.outputFields.map((field, index) => {
    const suffix = field.kind === "json" ? " (must be formatted as valid JSON)" : ""
    return `${index === 0 ? "starting with" : "then"} the field \`${marker(field.name)}\`${suffix}`
  })
  return `Respond with the corresponding output fields, ${fields.join(", ")}, and then ending with the marker for \`${completed}\`.`
}

const user = (text: string) => Prompt.userMessage({ content: [Prompt.textPart({ text })] })
const assistant = (text: string) => Prompt.assistantMessage({ content: [Prompt.textPart({ text })] })

const formatOutputs = (signature: Signature.Any, outputs: Readonly<Record<string, unknown>>): string => {
  const body = formatFields(signature.outputFields, outputs)
  return body.length === 0 ? completed : `${body}\n\n${completed}`
}

const format = (request: Adapter.FormatRequest): Prompt.Prompt => {
  const { signature } = request
  const messages: Array<Prompt.Message> = [
    systemMessage(signature, request.instructions)
  ]
  for (const demo of request.demos) {
    const inputs = formatFields(signature.inputFields, demo)
    const outputs = formatFields(signature.outputFields, demo)
    if (inputs.length === 0 || outputs.length === 0) continue
    messages.push(user(inputs), assistant(`${outputs}\n\n${completed}`))
  }
  const line = instructionLine(signature)
  const inputs = formatFields(signature.inputFields, request.inputs)
  messages.push(user(inputs.length === 0 ? line : `${inputs}\n\n${line}`))
  for (const failed of request.failedReplies) {
    messages.push(
      assistant(failed.reply),
      user(`Your previous reply could not be parsed: ${failed.issue}\n\n${line}`)
    )
  }
  return Prompt.fromMessages(messages)
}

const markerPattern = /\[\[ ## ([A-Za-z_][A-Za-z0-9_]*) ## \]\]/g

/**
 * Splits a reply into its marked sections; the first occurrence of a name wins.
 *
 * @since 0.1.0
 */
export const sections = (text: string): Map<string, string> => {
  const found = new Map<string, string>()
  const matches = [...text.matchAll(markerPattern)]
  for (let i = 0; i < matches.length; i++) {
    const match = matches[i]!
    const name = match[1]!
    const start = match.index + match[0].length
    const end = i + 1 < matches.length ? matches[i + 1]!.index : text.length
    if (!found.has(name)) found.set(name, text.slice(start, end))
  }
  return found
}

const parse = (signature: Signature.Any, text: string): Either.Either<Record<string, unknown>, Adapter.ParseIssue> => {
  const found = sections(text)
  const out: Record<string, unknown> = {}
  for (const field of signature.outputFields) {
    const section = found.get(field.name)
    if (section === undefined) {
      if (field.optional) continue
      return Either.left({
        field: field.name,
        issue: `the reply has no \`${marker(field.name)}\` section; expected the fields ${
          signature.outputFields.map((f) => `\`${f.name}\``).join(", ")
        }`
      })
    }
    const read = readValue(field, section)
    if (!read.ok) return Either.left({ field: field.name, issue: read.issue })
    out[field.name] = read.value
  }
  return Either.right(out)
}

const generate: Adapter.Adapter["generate"] = (_signature, prompt) =>
  Effect.map(LanguageModel.generateText({ prompt }), (response) => ({
    text: response.text,
    usage: response.usage,
    finishReason: response.finishReason
  }))

/**
 * The chat adapter (the default).
 *
 * @example
 * ```ts
 * import { Adapter, ChatAdapter, Predict, Signature } from "@effect-dspy/core"
 *
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const program = qa({ question: "Why is the sky blue?" }).pipe(Adapter.withAdapter(ChatAdapter.adapter))
 * ```
 *
 * @since 0.1.0
 */
export const adapter: Adapter.Adapter = {
  name: "ChatAdapter",
  format,
  formatOutputs,
  parse,
  generate
}
