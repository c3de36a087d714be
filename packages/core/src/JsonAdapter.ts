/**
 * The JSON adapter: asks the provider for JSON-schema structured output derived from the
 * output Schema, and still reads replies that wrap the JSON object in a fence or in text
 * (for providers without structured output), start with a think block, or need repair
 * (single quotes, Python literals, trailing commas, comments: through `jsonrepair`). Each value
 * forgives the near-misses of its type; every near-miss is recorded on the prediction's trace.
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
import { isCacheHit } from "./internal/cacheMarker.js"
import { notSuppliedInTurn, splitHistory, turnsOf } from "./internal/history.js"
import { coerce, parseJsonText } from "./internal/lenient.js"
import * as Media from "./internal/media.js"
import { memo } from "./internal/memo.js"
import { demoShape, fieldDescriptions, incompleteDemoPrefix, inputSections, marker, notSupplied, objective } from "./internal/promptText.js"
import { withoutBuiltInAnnotations } from "./internal/promptSchema.js"
import * as StreamParser from "./internal/streamParser.js"
import * as ThinkBlock from "./internal/thinkBlock.js"
import { truncate, unfence } from "./internal/valueText.js"
import type * as NearMiss from "./NearMiss.js"
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

const isSupplied = (values: Readonly<Record<string, unknown>>, name: string): boolean =>
  name in values && values[name] !== undefined

const outputObject = (signature: Signature.Any, values: Readonly<Record<string, unknown>>, missing: string | undefined = undefined) => {
  const out: Record<string, unknown> = {}
  for (const field of signature.outputFields) {
    if (isSupplied(values, field.name)) out[field.name] = values[field.name]
    else if (missing !== undefined && !field.optional) out[field.name] = missing
  }
  return out
}

const instructionLine = (signature: Signature.Any): string =>
  memo(signature, "json.instructionLine", () => buildInstructionLine(signature))

const buildInstructionLine = (signature: Signature.Any): string =>
  `Respond with a JSON object in the following order of fields: ${
    signature.outputFields.map((f) => `\`${f.name}\``).join(", then ")
  }.`

const user = (content: Media.Content) => Prompt.userMessage({ content: Media.userParts(content) })
const assistant = (text: string) => Prompt.assistantMessage({ content: [Prompt.textPart({ text })] })

const formatOutputs = (signature: Signature.Any, outputs: Readonly<Record<string, unknown>>): string =>
  JSON.stringify(outputObject(signature, outputs))

const format = (request: Adapter.FormatRequest): Prompt.Prompt => {
  const history = splitHistory(request.signature)
  // With a history field, the prompt is made as for the signature without it, the turns
  // shown as messages before the current inputs (see the chat adapter).
  const signature = history?.inner ?? request.signature
  const messages: Array<Prompt.Message> = [
    systemMessage(signature, request.instructions)
  ]
  // A demo that lacks fields is still shown, its missing fields marked (see the chat adapter).
  for (const demo of request.demos) {
    const shape = demoShape(signature.inputFields, signature.outputFields, demo)
    if (shape === undefined) continue
    const missing = shape.incomplete ? notSupplied : undefined
    const inputs = inputSections(signature.inputFields, demo, missing)
    const userContent = shape.incomplete ? [incompleteDemoPrefix, ...(inputs.length > 0 ? ["\n\n", ...inputs] : [])] : inputs
    messages.push(user(userContent), assistant(JSON.stringify(outputObject(signature, demo, missing))))
  }
  if (history !== undefined) {
    for (const turn of turnsOf(request.inputs[history.field])) {
      messages.push(
        user(inputSections(signature.inputFields, turn)),
        assistant(JSON.stringify(outputObject(signature, turn, notSuppliedInTurn)))
      )
    }
  }
  const line = instructionLine(signature)
  const inputs = inputSections(signature.inputFields, request.inputs)
  messages.push(user(inputs.length === 0 ? [line] : [...inputs, `\n\n${line}`]))
  for (const failed of request.failedReplies) {
    messages.push(assistant(failed.reply), user([`Your previous reply could not be parsed: ${failed.issue}\n\n${line}`]))
  }
  return Prompt.fromMessages(messages)
}

// Where a reply's JSON object may be, in order; each is computed only when the ones before
// it did not parse (a well-formed reply, nearly all of them, costs one trim and one parse).
// The second and third are fenced.
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

/** A reply's JSON object, and how it was found. */
interface Found {
  readonly object: Record<string, unknown>
  readonly how: "json" | "fenced" | "embedded" | "repaired"
  readonly raw: string
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const findJsonObject = (text: string): Either.Either<Found, string> => {
  const hows = ["json", "fenced", "fenced", "embedded"] as const
  const tried: Array<string> = []
  for (let i = 0; i < jsonCandidates.length; i++) {
    const candidate = jsonCandidates[i]!(text)
    if (candidate === undefined) continue
    tried.push(candidate)
    try {
      const parsed: unknown = JSON.parse(candidate)
      if (isObject(parsed)) return Either.right({ object: parsed, how: hows[i]!, raw: candidate })
    } catch {
      // try the next candidate
    }
  }
  // Not JSON as written: repair the first candidate that is one whole object.
  let why: string | undefined
  for (const candidate of tried) {
    if (!candidate.startsWith("{")) continue
    const repaired = parseJsonText(candidate)
    if (repaired._tag === "Repaired" && isObject(repaired.value)) {
      return Either.right({ object: repaired.value, how: "repaired", raw: candidate })
    }
    if (repaired._tag === "Invalid") why ??= repaired.issue
  }
  if (text.trim().length === 0) return Either.left("the reply is empty; expected a JSON object")
  return Either.left(
    `the reply holds no JSON object${why === undefined ? "" : ` (the one it starts is not valid JSON: ${why})`}: ${truncate(text, 200)}`
  )
}

/**
 * Finds the JSON object in a reply: the whole text, a fenced block, the outermost braces, or a repair of those.
 *
 * @since 0.1.0
 */
export const extractJsonObject = (text: string): Either.Either<Record<string, unknown>, string> =>
  Either.map(findJsonObject(text), (found) => found.object)

const parse = (signature: Signature.Any, text: string): Either.Either<Adapter.Parsed, Adapter.ParseIssue> => {
  const answer = ThinkBlock.strip(text, (t) => t.indexOf("{"))
  if (answer._tag === "Unclosed") return Either.left({ field: undefined, issue: ThinkBlock.unclosedIssue })
  const found = findJsonObject(answer.text)
  if (Either.isLeft(found)) return Either.left({ field: undefined, issue: found.left })
  const { how, object, raw } = found.right
  const values: Record<string, unknown> = {}
  const nearMisses: Array<NearMiss.NearMiss> = []
  if (how === "fenced" || how === "repaired") {
    nearMisses.push({ field: undefined, path: [], kind: how === "fenced" ? "fenced" : "json-repaired", raw, accepted: object })
  }
  for (const field of signature.outputFields) {
    if (!(field.name in object)) {
      if (field.optional) continue
      if (field.nullable) {
        values[field.name] = null
        nearMisses.push({ field: field.name, path: [], kind: "absent-null", raw: "", accepted: null })
        continue
      }
      return Either.left({ field: field.name, issue: `the JSON object has no "${field.name}" key` })
    }
    const read = coerce(field.encoded, object[field.name])
    if (!read.ok) return Either.left({ field: field.name, issue: read.issue })
    values[field.name] = read.value
    for (const miss of read.misses) nearMisses.push({ field: field.name, ...miss })
  }
  return Either.right({ values, nearMisses })
}

const streamParser = (signature: Signature.Any): Adapter.FieldStreamParser =>
  StreamParser.json(memo(signature, "json.outputNames", () => signature.outputFields.map((f) => f.name)))

// `generateObject` decodes the reply with `Schema.parseJson(schema)`. We pass a schema that
// accepts any JSON but advertises the output struct's JSON schema to the provider, and read
// the fields ourselves, so that one reader (with its fallbacks) serves every provider.
const structuredOutputSchema = (signature: Signature.Any) =>
  memo(signature, "json.structuredOutputSchema", () => makeStructuredOutputSchema(signature))

// Effect's built-in titles and descriptions (`"title": "int"`) are left out: the provider
// shows this schema to the model.
const makeStructuredOutputSchema = (signature: Signature.Any) =>
  Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
    identifier: signature.name,
    jsonSchema: withoutMeta(JSONSchema.make(Schema.make(withoutBuiltInAnnotations(signature.output.ast))))
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
      finishReason: response.finishReason,
    cached: isCacheHit(response.content)
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
  generate,
  streamParser
}

const generateText: Adapter.Adapter["generate"] = (_signature, prompt) =>
  Effect.map(LanguageModel.generateText({ prompt }), (response): Adapter.Reply => ({
    text: response.text,
    usage: response.usage,
    finishReason: response.finishReason,
    cached: isCacheHit(response.content)
  }))

/**
 * The JSON adapter asking for the object in the prompt only, without structured output: what
 * the chat adapter falls back on. Its replies are always text, so a reply that is not JSON is
 * read leniently or fails as an `OutputParseError` carrying it, on any provider (one without
 * structured output included).
 *
 * @since 0.2.0
 */
export const inPrompt: Adapter.Adapter = {
  ...adapter,
  generate: generateText
}

