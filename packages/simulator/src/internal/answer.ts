/**
 * The answer engine shared by the in-process model and the three wire
 * formats: a normalized request in, a deterministic reply out.
 */
import * as Script from "../Script.js"
import type { JsonSchema, Message, ParsedRequest, Tool, ToolChoice } from "../Script.js"
import * as Gen from "./jsonSchemaInstance.js"
import * as Parser from "./promptParser.js"
import { hashString, hex8, makeRng, mix, type Rng } from "./rng.js"
import * as Text from "./text.js"

/** A request, whatever wire format it came in. */
export interface SimRequest {
  readonly route: ParsedRequest["route"]
  readonly messages: ReadonlyArray<Message>
  readonly tools: ReadonlyArray<Tool>
  readonly toolChoice: ToolChoice
  /** Structured output: an instance of this schema is the answer. */
  readonly responseSchema: JsonSchema | undefined
  /** JSON mode without a schema (`response_format: {type: "json_object"}`). */
  readonly jsonObject: boolean
  readonly maxOutputTokens: number | undefined
  /** Per-request seed (OpenAI `seed`). */
  readonly seed: number | undefined
}

/** A tool call of a reply; `arguments` is JSON text. */
export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly arguments: string
}

/** The reply to a request. */
export interface Reply {
  /** A stable id for this reply (derived from the request). */
  readonly id: string
  readonly text: string
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly finishReason: "stop" | "tool-calls" | "length"
  readonly inputTokens: number
  readonly outputTokens: number
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

/** Rough token count: about four characters per token. */
export const estimateTokens = (chars: number): number => Math.max(1, Math.ceil(chars / 4))

/** A hash of what a request asks (messages, tools, tool choice, structured output). */
export const requestHash = (req: SimRequest): number => {
  let h = 0x811c9dc5
  for (const m of req.messages) {
    h = hashString(m.role, h)
    h = hashString(m.text, h)
  }
  for (const t of req.tools) h = hashString(t.name, h)
  h = hashString(req.toolChoice._tag, h)
  if (req.responseSchema !== undefined) h = hashString("schema", h)
  return h
}

const inputTokensOf = (req: SimRequest): number => {
  let chars = 0
  for (const m of req.messages) chars += m.text.length + 12
  for (const t of req.tools) chars += t.name.length + (t.description?.length ?? 0) + 40
  return estimateTokens(chars)
}

const textContext = (parsed: ParsedRequest): Text.TextContext => {
  let source = ""
  for (const k in parsed.inputs) source += `${parsed.inputs[k]} `
  if (source === "") source = parsed.lastUserText
  return { keywords: Text.keywordsOf(source) }
}

const renderValue = (value: unknown, isText: boolean): string => {
  if (typeof value === "string") {
    if (isText) return value
    try {
      JSON.parse(value)
      return value
    } catch {
      return JSON.stringify(value)
    }
  }
  return JSON.stringify(value) ?? "null"
}

const jsonValue = (value: unknown, isText: boolean): unknown => {
  if (typeof value === "string" && !isText) {
    try {
      return JSON.parse(value)
    } catch {
      return value
    }
  }
  return value
}

/** Renders output values in the field-marker format. */
export const renderFieldMarkers = (
  fields: ReadonlyArray<{ readonly name: string; readonly isText: boolean }>,
  values: Readonly<Record<string, unknown>>
): string => {
  let out = ""
  for (const f of fields) out += `[[ ## ${f.name} ## ]]\n${renderValue(values[f.name], f.isText)}\n\n`
  return `${out}[[ ## completed ## ]]`
}

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

/**
 * Computes the reply to a request: deterministic in the request and the seed.
 * `malformed` breaks it (a fault); `nonce` only makes the reply's id unique.
 */
export const answer = (
  req: SimRequest,
  seed: number,
  rules: ReadonlyArray<Script.ScriptRule>,
  caches: Caches,
  malformed: boolean,
  nonce: number
): Outcome => {
  const parsed = Parser.parseRequest(req.messages, {
    route: req.route,
    responseSchema: req.responseSchema,
    tools: req.tools,
    toolChoice: req.toolChoice
  }, caches.parser)
  const hash = requestHash(req)
  const rng = makeRng(mix(mix(hash, seed), req.seed ?? 0))
  const id = hex8(mix(hash, seed)) + hex8(nonce)
  const ctx = textContext(parsed)
  const scripted = rules.length > 0 ? Script.run(rules, parsed) : undefined

  let text = ""
  let toolCalls: ReadonlyArray<ToolCall> = []
  let isJson = false
  let isMarkers = false

  if (scripted !== undefined && scripted._tag === "Fail") {
    return { _tag: "Fail", status: scripted.status, message: scripted.message }
  }
  if (scripted !== undefined && scripted._tag === "ToolCalls") {
    toolCalls = scripted.calls.map((c, i) => ({
      id: `call_${id}${i === 0 ? "" : `_${i}`}`,
      name: c.name,
      arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments ?? {})
    }))
  } else if (scripted !== undefined && scripted._tag === "Text") {
    text = scripted.text
  } else if (scripted !== undefined && scripted._tag === "Json") {
    text = JSON.stringify(scripted.value) ?? "null"
    isJson = true
  } else {
    const fieldValues = scripted !== undefined && scripted._tag === "Fields" ? scripted.values : undefined
    const calls = fieldValues === undefined ? toolCallsFor(req, parsed, rng, ctx, caches, id) : undefined
    if (calls !== undefined) {
      toolCalls = calls
    } else if (req.responseSchema !== undefined) {
      const value = Gen.generate(req.responseSchema, rng, ctx, caches.gen)
      if (fieldValues !== undefined && typeof value === "object" && value !== null && !Array.isArray(value)) {
        const obj: Record<string, unknown> = { ...value }
        for (const k in fieldValues) {
          const f = parsed.outputFields.find((o) => o.name === k)
          obj[k] = jsonValue(fieldValues[k], f?.isText ?? true)
        }
        text = JSON.stringify(obj)
      } else {
        text = JSON.stringify(value) ?? "null"
      }
      isJson = true
    } else if (parsed.outputFields.length > 0) {
      const values = generateFields(parsed, rng, ctx, caches, fieldValues)
      if (parsed.kind === "JsonFields" || req.jsonObject) {
        const obj: Record<string, unknown> = {}
        for (const f of parsed.outputFields) obj[f.name] = jsonValue(values[f.name], f.isText)
        text = JSON.stringify(obj)
        isJson = true
      } else {
        text = renderFieldMarkers(parsed.outputFields, values)
        isMarkers = true
      }
    } else if (fieldValues !== undefined) {
      const names = Object.keys(fieldValues).map((name) => ({ name, isText: typeof fieldValues[name] === "string" }))
      text = req.jsonObject ? JSON.stringify(fieldValues) : renderFieldMarkers(names, fieldValues)
      isJson = req.jsonObject
      isMarkers = !req.jsonObject
    } else if (req.jsonObject) {
      text = JSON.stringify({ answer: Text.plainAnswer(rng, ctx) })
      isJson = true
    } else {
      text = Text.plainAnswer(rng, ctx)
    }
  }

  if (malformed) {
    if (toolCalls.length > 0) {
      toolCalls = toolCalls.map((c) => ({ ...c, arguments: breakJson(c.arguments) }))
    } else if (isJson) text = breakJson(text)
    else if (isMarkers) text = breakMarkers(text)
  }

  let finishReason: Reply["finishReason"] = toolCalls.length > 0 ? "tool-calls" : "stop"
  let outputChars = text.length
  for (const c of toolCalls) outputChars += c.name.length + c.arguments.length
  let outputTokens = estimateTokens(outputChars)
  if (req.maxOutputTokens !== undefined && req.maxOutputTokens > 0 && outputTokens > req.maxOutputTokens && toolCalls.length === 0) {
    text = text.slice(0, req.maxOutputTokens * 4)
    outputTokens = req.maxOutputTokens
    finishReason = "length"
  }
  return {
    _tag: "Reply",
    reply: { id, text, toolCalls, finishReason, inputTokens: inputTokensOf(req), outputTokens }
  }
}

/** Splits text into stream deltas of about one word each. */
export const chunkText = (text: string): Array<string> => {
  const out: Array<string> = []
  const re = /\s*\S+/g
  let m: RegExpExecArray | null
  let end = 0
  while ((m = re.exec(text)) !== null) {
    let piece = m[0]
    // keep very long "words" (JSON) to token-sized pieces
    while (piece.length > 16) {
      out.push(piece.slice(0, 12))
      piece = piece.slice(12)
    }
    out.push(piece)
    end = re.lastIndex
  }
  if (end < text.length) {
    if (out.length === 0) out.push(text.slice(end))
    else out[out.length - 1] += text.slice(end)
  }
  return out
}

/** Splits tool-call arguments into stream deltas. */
export const chunkArguments = (args: string): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < args.length; i += 12) out.push(args.slice(i, i + 12))
  if (out.length === 0) out.push("")
  return out
}
