/**
 * What the simulator says: a request in, a reply out (text, tool calls, or a scripted failure),
 * deterministic in the request, the seed and the sampling settings. How it is sent (chunks,
 * usage, faults) is the reply plan's business (`../plan`).
 */
import * as Script from "../../Script.js"
import type { OutputField, ParsedRequest, Tool } from "../../Script.js"
import { hex8, makeRng, mix, type Rng } from "../rng.js"
import * as Drift from "./drift.js"
import * as Gen from "./jsonSchemaInstance.js"
import * as Parser from "./promptParser.js"
import { requestHash, type SimRequest } from "./request.js"
import * as Text from "./text.js"
import * as Option from "effect/Option"
import * as Record from "effect/Record"
import { isRecord, parseJson } from "../json.js"

/** A tool call of a reply; `arguments` is JSON text. */
export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly arguments: string
}

/** What a reply's text is written as (JSON replies may be fenced by a server's quirks). */
export type ReplyFormat = "json" | "markers" | "text"

/** The reply to a request. */
export interface Reply {
  /** A stable id for this reply (derived from the request). */
  readonly id: string
  readonly text: string
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly format: ReplyFormat
  /** Written with near-misses (see `drift.ts`). */
  readonly drifted: boolean
}

/** What the engine decided: a reply, or a scripted failure. */
export type Outcome =
  | { readonly _tag: "Reply"; readonly reply: Reply }
  | { readonly _tag: "Fail"; readonly status: number; readonly message: string }

/** Per-engine caches. */
export interface Caches {
  readonly parser: Parser.ParserCaches
  readonly gen: Gen.GeneratorCaches
}

/** Makes the engine's caches. */
export const makeCaches = (): Caches => ({ parser: Parser.makeCaches(), gen: Gen.makeCaches() })

const textContext = (parsed: ParsedRequest): Text.TextContext => {
  let source = ""
  for (const k in parsed.inputs) source += `${parsed.inputs[k]} `
  if (source === "") source = parsed.lastUserText
  return { keywords: Text.keywordsOf(source) }
}

/** A field value as field-marker text: text fields and JSON text as they are, the rest as JSON. */
const renderValue = (value: unknown, isText: boolean): string =>
  typeof value === "string" && (isText || Option.isSome(parseJson(value))) ? value : JSON.stringify(value) ?? "null"

/** A field value for a JSON reply: JSON text of a non-text field as the value it holds. */
const jsonValue = (value: unknown, isText: boolean): unknown =>
  typeof value === "string" && !isText ? Option.getOrElse(parseJson(value), () => value) : value

/** A scripted field with no schema in the prompt: text when its value is a string. */
const looseField = (name: string, value: unknown): OutputField => ({
  name,
  label: "",
  description: undefined,
  schema: typeof value === "string" ? { type: "string" } : {},
  isText: typeof value === "string"
})

/** Renders output values in the field-marker format, drifting when `drift` is a generator. */
const renderFieldMarkers = (
  fields: ReadonlyArray<OutputField>,
  values: Readonly<Record<string, unknown>>,
  drift: Rng | undefined
): string => {
  const rendered = fields.map((field) => ({
    field,
    value: jsonValue(values[field.name], field.isText),
    rendered: renderValue(values[field.name], field.isText)
  }))
  if (drift !== undefined) return Drift.fieldMarkers(rendered, drift)
  let out = ""
  for (const f of rendered) out += `[[ ## ${f.field.name} ## ]]\n${f.rendered}\n\n`
  return `${out}[[ ## completed ## ]]`
}

/** Renders a JSON reply, drifting when `drift` is a generator. */
const renderJson = (value: unknown, drift: Rng | undefined): string =>
  drift === undefined ? JSON.stringify(value) ?? "null" : Drift.json(value, drift)

const generateFields = (
  parsed: ParsedRequest,
  rng: Rng,
  ctx: Text.TextContext,
  caches: Caches,
  scripted: Readonly<Record<string, unknown>> | undefined
): Record<string, unknown> => {
  const values: Record<string, unknown> = {}
  for (const f of parsed.outputFields) {
    values[f.name] = scripted !== undefined && f.name in scripted
      ? scripted[f.name]
      : Gen.generate(f.schema, rng, ctx, caches.gen, f.name)
  }
  if (scripted !== undefined) for (const k in scripted) if (!(k in values)) values[k] = scripted[k]
  return values
}

const toolCallsFor = (
  req: SimRequest,
  parsed: ParsedRequest,
  rng: Rng,
  ctx: Text.TextContext,
  caches: Caches,
  idBase: string
): ReadonlyArray<ToolCall> | undefined => {
  if (req.tools.length === 0) return undefined
  const choice = req.toolChoice
  let candidates: ReadonlyArray<Tool>
  switch (choice._tag) {
    case "None":
      return undefined
    case "Tool":
      candidates = req.tools.filter((t) => t.name === choice.name)
      if (candidates.length === 0) candidates = [{ name: choice.name, description: undefined, parameters: { type: "object" } }]
      break
    case "Required":
      candidates = choice.among === undefined ? req.tools : req.tools.filter((t) => choice.among!.includes(t.name))
      if (candidates.length === 0) candidates = req.tools
      break
    case "Auto": {
      // Under "auto" a plain conversation calls a tool for a user turn and answers after a tool result.
      const last = req.messages[req.messages.length - 1]
      if (parsed.kind !== "Plain" || req.responseSchema !== undefined || last === undefined || last.role !== "user") {
        return undefined
      }
      candidates = req.tools
      break
    }
  }
  const tool = rng.pick(candidates)
  const args = Gen.generate(tool.parameters, rng, ctx, caches.gen)
  const obj = typeof args === "object" && args !== null && !Array.isArray(args) ? args : {}
  return [{ id: `call_${idBase}`, name: tool.name, arguments: JSON.stringify(obj) }]
}

const breakJson = (s: string): string => s.length <= 2 ? "{" : s.slice(0, Math.max(1, Math.floor(s.length / 2)))

const breakMarkers = (s: string): string => {
  const withoutCompleted = s.replace(/\n*\[\[ ## completed ## \]\]\s*$/, "")
  const last = withoutCompleted.lastIndexOf("[[ ## ")
  return last > 0 ? withoutCompleted.slice(0, last) + withoutCompleted.slice(last).replace(/^\[\[ ## [^\]]+ ## \]\]\n/, "") : withoutCompleted.replace(/\[\[ ## [^\]]+ ## \]\]\n/, "")
}

/** What, besides the request, an answer depends on. */
export interface AnswerOptions {
  readonly seed: number
  readonly rules: ReadonlyArray<Script.ScriptRule>
  readonly caches: Caches
  /** Break the reply (the `malformed` fault). */
  readonly malformed: boolean
  /** Only makes the reply's id unique. */
  readonly nonce: number
  /** Mixed into the answer's generator: the request's seed and sampling (see `Engine`). */
  readonly variation: number
  /** Share (0..1) of replies written with near-misses (see `drift.ts`). */
  readonly drift: number
}

const DRIFT_SALT = 0xd21f7

/** What a reply says, before the `malformed` fault. */
type Said = Pick<Reply, "text" | "toolCalls" | "format">

/** What the reply to one request is made with. */
interface Making {
  readonly req: SimRequest
  readonly parsed: ParsedRequest
  readonly rng: Rng
  /** The drift generator when this reply drifts. */
  readonly drift: Rng | undefined
  readonly ctx: Text.TextContext
  readonly caches: Caches
  readonly id: string
}

/** The reply's content: the script's answer, or one generated for what the prompt asks. */
const say = (m: Making, scripted: Script.Answer | undefined): Said => {
  const { caches, ctx, drift, parsed, req, rng } = m
  const json = (value: unknown): Said => ({ text: renderJson(value, drift), toolCalls: [], format: "json" })
  const markers = (fields: ReadonlyArray<OutputField>, values: Readonly<Record<string, unknown>>): Said =>
    ({ text: renderFieldMarkers(fields, values, drift), toolCalls: [], format: "markers" })
  switch (scripted?._tag) {
    case "ToolCalls": {
      const toolCalls = scripted.calls.map((c, i) => ({
        id: `call_${m.id}${i === 0 ? "" : `_${i}`}`,
        name: c.name,
        arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments ?? {})
      }))
      return { text: "", toolCalls, format: "text" }
    }
    case "Text":
      return { text: scripted.text, toolCalls: [], format: "text" }
    case "Json":
      return json(scripted.value)
  }
  const fieldValues = scripted?._tag === "Fields" ? scripted.values : undefined
  const calls = fieldValues === undefined ? toolCallsFor(req, parsed, rng, ctx, caches, m.id) : undefined
  if (calls !== undefined) return { text: "", toolCalls: calls, format: "text" }
  if (req.responseSchema !== undefined) {
    const value = Gen.generate(req.responseSchema, rng, ctx, caches.gen)
    if (fieldValues === undefined || !isRecord(value)) return json(value)
    const scriptedJson = Record.map(fieldValues, (v, k) => jsonValue(v, parsed.outputFields.find((o) => o.name === k)?.isText ?? true))
    return json({ ...value, ...scriptedJson })
  }
  if (parsed.outputFields.length > 0) {
    const values = generateFields(parsed, rng, ctx, caches, fieldValues)
    if (parsed.kind !== "JsonFields" && !req.jsonObject) return markers(parsed.outputFields, values)
    return json(Object.fromEntries(parsed.outputFields.map((f) => [f.name, jsonValue(values[f.name], f.isText)])))
  }
  if (fieldValues !== undefined) {
    if (req.jsonObject) return json(fieldValues)
    return markers(Object.keys(fieldValues).map((name) => looseField(name, fieldValues[name])), fieldValues)
  }
  if (req.jsonObject) return json({ answer: Text.plainAnswer(rng, ctx) })
  const text = Text.plainAnswer(rng, ctx)
  return { text: drift === undefined ? text : Drift.text(text, drift), toolCalls: [], format: "text" }
}

/** The same reply, broken (the `malformed` fault): JSON cut short, or a field marker dropped. */
const malform = (said: Said): Said =>
  said.toolCalls.length > 0
    ? { ...said, toolCalls: said.toolCalls.map((c) => ({ ...c, arguments: breakJson(c.arguments) })) }
    : said.format === "json"
    ? { ...said, text: breakJson(said.text) }
    : said.format === "markers"
    ? { ...said, text: breakMarkers(said.text) }
    : said

/**
 * Computes the reply to a request: deterministic in the request, the seed and the variation.
 */
export const answer = (req: SimRequest, options: AnswerOptions): Outcome => {
  const { caches, rules, seed } = options
  const parsed = Parser.parseRequest(req.messages, {
    route: req.route,
    responseSchema: req.responseSchema,
    tools: req.tools,
    toolChoice: req.toolChoice
  }, caches.parser)
  const hash = requestHash(req)
  // its own generator, so that drifting or not leaves the answer itself unchanged
  const driftRng = makeRng(mix(mix(hash, seed ^ DRIFT_SALT), options.variation))
  const scripted = rules.length > 0 ? Script.run(rules, parsed) : undefined
  if (scripted?._tag === "Fail") return { _tag: "Fail", status: scripted.status, message: scripted.message }
  const id = hex8(mix(hash, seed)) + hex8(options.nonce)
  const drift = driftRng.chance(options.drift) ? driftRng : undefined
  const rng = makeRng(mix(mix(hash, seed), options.variation))
  const said = say({ req, parsed, rng, drift, ctx: textContext(parsed), caches, id }, scripted)
  const drifted = drift !== undefined && said.toolCalls.length === 0 && scripted?._tag !== "Text"
  return { _tag: "Reply", reply: { id, ...(options.malformed ? malform(said) : said), drifted } }
}
