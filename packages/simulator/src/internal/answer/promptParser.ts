/**
 * Reads prompts in the field-marker format of `@effect-dspy/core` (see
 * packages/core/PROMPT_FORMAT.md): the field lists and `# note:` schemas of
 * the system message, the demos, and the inputs of the final user message.
 */
import type { Demo, Field, JsonSchema, Message, OutputField, ParsedRequest, PromptKind, Tool, ToolChoice } from "../../Script.js"
import { deref, isTextSchema } from "./jsonSchemaInstance.js"
import { BoundedCache } from "./BoundedCache.js"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import { parseJson, parseJsonObject } from "../json.js"
import * as Record from "effect/Record"

/** The structure read from a system message (cached: it repeats across calls of one program). */
export interface SystemStructure {
  readonly inputFields: ReadonlyArray<Field>
  readonly outputFields: ReadonlyArray<OutputField>
  readonly instructions: string | undefined
  readonly mentionsJson: boolean
}

/** Sections of one message: `[[ ## name ## ]]` at the start of a line, then the value. */
export type Sections = ReadonlyMap<string, string>

const EMPTY_SECTIONS: Sections = new Map()
const MARKER = /^\[\[ ## ([^\]\n]+?) ## \]\][ \t]*$/gm
const FIELD_LINE = /^\s*\d+\.\s+`([^`]+)`\s*(.*)$/
const NOTE_LINE = /^\s*\{([^}\n]+)\}\s*# note:.*?JSON schema:\s*(\{.*\})\s*$/
const INSTRUCTION_TAIL = /\n[ \t]*\n[ \t]*Respond with [\s\S]*$/
const RETRY_PREFIX = "Your previous reply could not be parsed"

/** Parses the `[[ ## name ## ]]` sections of a message. */
export const parseSections = (text: string): Sections => {
  if (!text.includes("[[ ## ")) return EMPTY_SECTIONS
  const out = new Map<string, string>()
  MARKER.lastIndex = 0
  let name: string | undefined
  let start = 0
  let m: RegExpExecArray | null
  while ((m = MARKER.exec(text)) !== null) {
    if (name !== undefined) out.set(name, text.slice(start, m.index).trim())
    name = (m[1] as string).trim()
    start = m.index + m[0].length
  }
  if (name !== undefined) {
    let last = text.slice(start)
    const tail = INSTRUCTION_TAIL.exec(last)
    if (tail !== null) last = last.slice(0, tail.index)
    out.set(name, last.trim())
  }
  return out
}

/** Splits `(label): description` after a field name, honouring nested parentheses and quotes. */
const splitLabel = (rest: string): { label: string; description: string | undefined } => {
  let s = rest.trim()
  let label = ""
  if (s.startsWith("(")) {
    let depth = 0
    let quote: string | undefined
    let i = 0
    for (; i < s.length; i++) {
      const c = s[i]
      if (quote !== undefined) {
        if (c === "\\") i++
        else if (c === quote) quote = undefined
        continue
      }
      if (c === "\"" || c === "'") quote = c
      else if (c === "(") depth++
      else if (c === ")" && --depth === 0) break
    }
    label = s.slice(1, i).trim()
    s = s.slice(i + 1).trim()
  }
  if (s.startsWith(":")) s = s.slice(1).trim()
  return { label, description: s === "" ? undefined : s }
}

/** A schema for an output field that has no `# note:` line, from its label. */
export const schemaFromLabel = (label: string): JsonSchema => {
  const l = label.toLowerCase()
  const oneOf = /one of:\s*(.*)$/i.exec(label)
  if (oneOf !== null) {
    const values: Array<string> = []
    const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'/g
    let m: RegExpExecArray | null
    while ((m = re.exec(oneOf[1] as string)) !== null) {
      values.push(m[1] !== undefined ? safeUnquote(m[1]) : (m[2] as string))
    }
    if (values.length > 0) return { type: "string", enum: values }
  }
  if (/^(int|integer)\b/.test(l)) return { type: "integer" }
  if (/^(number|float)\b/.test(l)) return { type: "number" }
  if (/^(bool|boolean)\b/.test(l)) return { type: "boolean" }
  if (/^(array|list)\b/.test(l)) return { type: "array", items: { type: "string" } }
  if (/^(object|dict|record)\b/.test(l)) return { type: "object" }
  return { type: "string" }
}

const safeUnquote = (s: string): string => Option.getOrElse(Option.filter(parseJson(`"${s}"`), Predicate.isString), () => s)

/** Reads the field lists, notes and instructions of a system message. */
export const parseSystem = (text: string): SystemStructure => {
  const inputs: Array<Field> = []
  const outputs: Array<Field> = []
  const notes = new Map<string, JsonSchema>()
  let state: "none" | "inputs" | "outputs" = "none"
  const lines = text.split("\n")
  for (const line of lines) {
    if (/^\s*Your input fields are:\s*$/.test(line)) {
      state = "inputs"
      continue
    }
    if (/^\s*Your output fields are:\s*$/.test(line)) {
      state = "outputs"
      continue
    }
    if (state !== "none") {
      const m = FIELD_LINE.exec(line)
      if (m !== null) {
        const { description, label } = splitLabel(m[2] as string)
        ;(state === "inputs" ? inputs : outputs).push({ name: m[1] as string, label, description })
        continue
      }
      if (line.trim() !== "") state = "none"
      continue
    }
    if (line.includes("# note:")) {
      const n = NOTE_LINE.exec(line)
      if (n !== null) {
        const schema = parseJsonObject(n[2] as string)
        if (Option.isSome(schema)) notes.set((n[1] as string).trim(), schema.value)
      }
    }
  }
  const objective = /your objective is:/i.exec(text)
  const instructions = objective === null ? undefined : dedent(text.slice(objective.index + objective[0].length))
  return {
    inputFields: inputs,
    outputFields: outputs.map((f) => toOutputField(f, notes.get(f.name))),
    instructions: instructions === "" ? undefined : instructions,
    mentionsJson: /\bJSON object\b/i.test(text) && !text.includes("[[ ## completed ## ]]")
  }
}

const toOutputField = (field: Field, note: JsonSchema | undefined): OutputField => {
  let schema = note ?? schemaFromLabel(field.label)
  // the field's description ("a valid Date", "a number between 1 and 5") guides generation
  // when the schema itself says little
  if (field.description !== undefined && schema["description"] === undefined && schema["$ref"] === undefined) {
    schema = { ...schema, description: field.description }
  }
  return { ...field, schema, isText: isTextSchema(schema, deref(schema, schema)) }
}

const dedent = (s: string): string =>
  s.split("\n").map((l) => l.trim()).join("\n").trim()

/** Output fields named by an instruction line (`starting with the field `[[ ## a ## ]]`, then ...`). */
const outputsFromInstruction = (text: string): ReadonlyArray<OutputField> => {
  const at = text.lastIndexOf("Respond with the corresponding output fields")
  if (at < 0) return []
  const line = text.slice(at).split("\n")[0] as string
  const out: Array<OutputField> = []
  const re = /`\[\[ ## ([^\]]+?) ## \]\]`( \(must be formatted as valid JSON\))?/g
  let m: RegExpExecArray | null
  while ((m = re.exec(line)) !== null) {
    const name = (m[1] as string).trim()
    if (name === "completed") continue
    const schema: JsonSchema = m[2] !== undefined ? { type: "object" } : { type: "string" }
    out.push({ name, label: m[2] !== undefined ? "json" : "string", description: undefined, schema, isText: m[2] === undefined })
  }
  return out
}

const EMPTY_STRUCTURE: SystemStructure = { inputFields: [], outputFields: [], instructions: undefined, mentionsJson: false }

/** Per-instance caches for the parser. */
export interface ParserCaches {
  readonly systems: BoundedCache<SystemStructure>
  readonly sections: BoundedCache<Sections>
}

/** Makes the parser's caches. */
export const makeCaches = (): ParserCaches => ({
  systems: new BoundedCache(256),
  sections: new BoundedCache(4096)
})

/** Everything besides the messages that a request carries. */
export interface RequestExtras {
  readonly route: ParsedRequest["route"]
  readonly responseSchema: JsonSchema | undefined
  readonly tools: ReadonlyArray<Tool>
  readonly toolChoice: ToolChoice
}

/** The fields of a reply that is one JSON object, as field texts (strings raw, the rest as JSON). */
const jsonOutputs = (text: string): Record<string, string> | undefined => {
  const t = text.trim()
  if (!t.startsWith("{")) return undefined
  const texts = Option.map(parseJsonObject(t), Record.map((v) => typeof v === "string" ? v : JSON.stringify(v)))
  return Option.getOrUndefined(texts)
}

/** Parses a whole request. */
export const parseRequest = (
  messages: ReadonlyArray<Message>,
  extras: RequestExtras,
  caches: ParserCaches
): ParsedRequest => {
  let systemText = ""
  for (const m of messages) if (m.role === "system") systemText = systemText === "" ? m.text : `${systemText}\n\n${m.text}`
  let structure = systemText.includes("Your output fields are:")
    ? caches.systems.get(systemText, parseSystem)
    : EMPTY_STRUCTURE

  let lastUser = -1
  for (let i = messages.length - 1; i >= 0; i--) {
    if ((messages[i] as Message).role === "user") {
      lastUser = i
      break
    }
  }
  const lastUserText = lastUser >= 0 ? (messages[lastUser] as Message).text : ""

  // Some providers fold the system prompt into the first user message.
  if (structure.outputFields.length === 0) {
    const first = messages.find((m) => m.role === "user")
    if (first !== undefined && first.text.includes("Your output fields are:")) {
      structure = caches.systems.get(first.text, parseSystem)
    }
  }
  if (structure.outputFields.length === 0 && lastUserText.includes("Respond with the corresponding output fields")) {
    structure = { ...structure, outputFields: outputsFromInstruction(lastUserText) }
  }

  const common = { ...extras, messages, lastUserText, instructions: structure.instructions, inputFields: structure.inputFields }
  if (structure.outputFields.length === 0) {
    return { ...common, kind: "Plain", outputFields: [], inputs: {}, demos: [], isRetry: false }
  }

  const inputNames = new Set(structure.inputFields.map((f) => f.name))
  const sectionsOf = (i: number): Sections => {
    const m = messages[i] as Message
    return m.text.includes("[[ ## ") ? caches.sections.get(m.text, parseSections) : EMPTY_SECTIONS
  }
  const hasInputs = (s: Sections): boolean => {
    if (s.size === 0) return false
    if (inputNames.size === 0) return true
    for (const k of s.keys()) if (inputNames.has(k)) return true
    return false
  }

  // The final inputs: the last user message that carries input fields (a re-ask comes after it).
  let inputsAt = -1
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as Message
    if (m.role !== "user" || m.text.startsWith(RETRY_PREFIX)) continue
    if (hasInputs(sectionsOf(i))) {
      inputsAt = i
      break
    }
  }

  const demos: Array<Demo> = []
  for (let i = 0; i < inputsAt; i++) {
    const m = messages[i] as Message
    if (m.role !== "user") continue
    const next = messages[i + 1]
    if (next === undefined || next.role !== "assistant") continue
    const ins = sectionsOf(i)
    if (ins.size === 0) continue
    const outs = sectionsOf(i + 1)
    // JSON-adapter demos answer with one JSON object
    const outputs = outs.size > 0 ? Object.fromEntries(outs) : jsonOutputs(next.text)
    if (outputs === undefined) continue
    delete outputs["completed"]
    demos.push({ inputs: Object.fromEntries(ins), outputs })
    i++
  }

  const asksJson = !lastUserText.includes("[[ ## completed ## ]]") && (structure.mentionsJson || /\bJSON\b/.test(lastUserText))
  const kind: PromptKind = extras.responseSchema !== undefined || asksJson ? "JsonFields" : "FieldMarkers"

  return {
    ...common,
    kind,
    outputFields: structure.outputFields,
    inputs: inputsAt >= 0 ? Object.fromEntries(sectionsOf(inputsAt)) : {},
    demos,
    isRetry: inputsAt >= 0 && inputsAt < messages.length - 1
  }
}
