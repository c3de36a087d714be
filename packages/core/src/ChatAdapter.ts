/**
 * The field-marker chat adapter: DSPy's `[[ ## field ## ]]` format, ending with
 * `[[ ## completed ## ]]`. The exact text is specified in `PROMPT_FORMAT.md`.
 *
 * Replies are read as real models write them: a leading think block is dropped, a marker counts
 * only at the start of a line, a missing optional or nullable output is absent or `null`, and each
 * value forgives the near-misses of its type (recorded on the prediction's trace). A reply written
 * as one JSON object is read by the JSON adapter, the fallback, which also carries the re-ask.
 *
 * @since 0.1.0
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Adapter from "./Adapter.js"
import { isCacheHit } from "./internal/cacheMarker.js"
import type { FieldInfo } from "./internal/fieldInfo.js"
import { notSuppliedInTurn, splitHistory, turnsOf } from "./internal/history.js"
import { firstMarkerIndex, splitSections } from "./internal/markers.js"
import * as Media from "./internal/media.js"
import { memo } from "./internal/memo.js"
import {
  demoShape,
  fieldDescriptions,
  incompleteDemoPrefix,
  inputSections,
  marker,
  notSupplied,
  objective
} from "./internal/promptText.js"
import * as StreamParser from "./internal/streamParser.js"
import * as ThinkBlock from "./internal/thinkBlock.js"
import { formatValue, readValue } from "./internal/valueText.js"
import * as JsonAdapter from "./JsonAdapter.js"
import type * as NearMiss from "./NearMiss.js"
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

/** The marked sections of fields with values; with `markMissing`, the others say they are not supplied. */
const formatFields = (
  fields: ReadonlyArray<FieldInfo>,
  values: Readonly<Record<string, unknown>>,
  role: "input" | "output",
  missing: string | undefined = undefined
): string => {
  const parts: Array<string> = []
  for (const field of fields) {
    const present = field.name in values && values[field.name] !== undefined
    if (present) parts.push(`${marker(field.name)}\n${formatValue(field, values[field.name], role)}`)
    else if (missing !== undefined && !field.optional) parts.push(`${marker(field.name)}\n${missing}`)
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

const user = (content: Media.Content) => Prompt.userMessage({ content: Media.userParts(content) })
const assistant = (text: string) => Prompt.assistantMessage({ content: [Prompt.textPart({ text })] })

const formatOutputs = (signature: Signature.Any, outputs: Readonly<Record<string, unknown>>): string => {
  const body = formatFields(signature.outputFields, outputs, "output")
  return body.length === 0 ? completed : `${body}\n\n${completed}`
}

// A demo that lacks fields is still shown (DSPy's way): its user message says so, and each
// missing field reads "Not supplied for this particular example."
const formatDemo = (signature: Signature.Any, demo: Readonly<Record<string, unknown>>): ReadonlyArray<Prompt.Message> => {
  const shape = demoShape(signature.inputFields, signature.outputFields, demo)
  if (shape === undefined) return []
  const missing = shape.incomplete ? notSupplied : undefined
  const inputs = inputSections(signature.inputFields, demo, missing)
  const outputs = formatFields(signature.outputFields, demo, "output", missing)
  const userContent = shape.incomplete ? [incompleteDemoPrefix, ...(inputs.length > 0 ? ["\n\n", ...inputs] : [])] : inputs
  return [user(userContent), assistant(outputs.length === 0 ? completed : `${outputs}\n\n${completed}`)]
}

// Each turn of a conversation history: its inputs from the user, its outputs from the assistant.
const formatTurn = (signature: Signature.Any, turn: Readonly<Record<string, unknown>>): ReadonlyArray<Prompt.Message> => {
  const outputs = formatFields(signature.outputFields, turn, "output", notSuppliedInTurn)
  return [user(inputSections(signature.inputFields, turn)), assistant(outputs.length === 0 ? completed : `${outputs}\n\n${completed}`)]
}

const format = (request: Adapter.FormatRequest): Prompt.Prompt => {
  const history = splitHistory(request.signature)
  // With a history field, the prompt is made as for the signature without it, the turns
  // shown as messages before the current inputs.
  const signature = history?.inner ?? request.signature
  const messages: Array<Prompt.Message> = [
    systemMessage(signature, request.instructions)
  ]
  for (const demo of request.demos) messages.push(...formatDemo(signature, demo))
  if (history !== undefined) {
    for (const turn of turnsOf(request.inputs[history.field])) messages.push(...formatTurn(signature, turn))
  }
  const line = instructionLine(signature)
  const inputs = inputSections(signature.inputFields, request.inputs)
  messages.push(user(inputs.length === 0 ? [line] : [...inputs, `\n\n${line}`]))
  for (const failed of request.failedReplies) {
    messages.push(
      assistant(failed.reply),
      user([`Your previous reply could not be parsed: ${failed.issue}\n\n${line}`])
    )
  }
  return Prompt.fromMessages(messages)
}

/**
 * Splits a reply into its marked sections, as the adapter reads it: a leading think block is
 * dropped, a marker counts only at the start of a line, and the first occurrence of a name
 * wins. A reply whose think block never closes has no section.
 *
 * @since 0.1.0
 */
export const sections = (text: string): Map<string, string> => {
  const answer = ThinkBlock.strip(text, firstMarkerIndex)
  return answer._tag === "Unclosed" ? new Map() : splitSections(answer.text)
}

const parse = (signature: Signature.Any, text: string): Either.Either<Adapter.Parsed, Adapter.ParseIssue> => {
  const answer = ThinkBlock.strip(text, firstMarkerIndex)
  if (answer._tag === "Unclosed") return Either.left({ field: undefined, issue: ThinkBlock.unclosedIssue })
  const found = splitSections(answer.text)
  const values: Record<string, unknown> = {}
  const nearMisses: Array<NearMiss.NearMiss> = []
  for (const field of signature.outputFields) {
    const section = found.get(field.name)
    if (section === undefined) {
      if (field.optional) continue
      if (field.nullable) {
        values[field.name] = null
        nearMisses.push({ field: field.name, path: [], kind: "absent-null", raw: "", accepted: null })
        continue
      }
      return Either.left({
        field: field.name,
        issue: `the reply has no \`${marker(field.name)}\` section (a marker counts only at the start of a line); expected the fields ${
          signature.outputFields.map((f) => `\`${f.name}\``).join(", ")
        }`
      })
    }
    const read = readValue(field, section)
    if (!read.ok) return Either.left({ field: field.name, issue: read.issue })
    values[field.name] = read.value
    for (const miss of read.misses) nearMisses.push({ field: field.name, ...miss })
  }
  return Either.right({ values, nearMisses })
}

const streamParser = (signature: Signature.Any): Adapter.FieldStreamParser =>
  StreamParser.markers(memo(signature, "chat.outputNames", () => signature.outputFields.map((f) => f.name)))

const generate: Adapter.Adapter["generate"] = (_signature, prompt) =>
  Effect.map(LanguageModel.generateText({ prompt }), (response) => ({
    text: response.text,
    usage: response.usage,
    finishReason: response.finishReason,
    cached: isCacheHit(response.content)
  }))

/**
 * The chat adapter (the default). Its fallback is the JSON adapter asking in the prompt
 * (`JsonAdapter.inPrompt`); turn it off with `Adapter.withFallback(false)`.
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
  generate,
  streamParser,
  fallback: JsonAdapter.inPrompt
}
