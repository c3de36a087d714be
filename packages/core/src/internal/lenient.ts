import { jsonrepair } from "jsonrepair"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import type * as NearMiss from "../NearMiss.js"
import { memo } from "./memo.js"

// Lenient values: the near-misses real models write, read into the value they stand for, guided
// by the field's encoded type (the wire side of its Schema). A value that is already valid is
// never touched. Leniency stops where it could pick a wrong answer: two literals that both match,
// a text holding two numbers, a percentage, JSON whose brackets do not close. Those are issues.

/** A near-miss inside one field's value (the field name is added by the adapter). */
export interface Miss {
  readonly path: ReadonlyArray<string | number>
  readonly kind: NearMiss.Kind
  readonly raw: string
  readonly accepted: unknown
}

/** A value read leniently, or why it cannot be. A value left unchanged may still be invalid: the Schema decode says why. */
export type Result =
  | { readonly ok: true; readonly value: unknown; readonly misses: ReadonlyArray<Miss> }
  | { readonly ok: false; readonly issue: string }

type Path = ReadonlyArray<string | number>

const ok = (value: unknown, misses: ReadonlyArray<Miss> = []): Result => ({ ok: true, value, misses })
const fail = (issue: string): Result => ({ ok: false, issue })

/** Whether a value fits an encoded AST (compiled once per AST node). */
export const isValid = (ast: AST.AST, value: unknown): boolean =>
  memo(ast, "lenient.is", () => ParseResult.is(Schema.make(ast)))(value)

const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 120 ? `${text.slice(0, 120)}…` : text
}

/** Reads `value` as the encoded type `ast`, forgiving the known near-misses. */
export const coerce = (ast: AST.AST, value: unknown, path: Path = []): Result => {
  if (isValid(ast, value)) return ok(value)
  switch (ast._tag) {
    case "Literal":
    case "Enums":
      return chooseLiteral(choicesOf(ast) ?? [], value, path)
    case "Union": {
      const choices = choicesOf(ast)
      return choices !== undefined ? chooseLiteral(choices, value, path) : coerceUnion(ast, value, path)
    }
    case "NumberKeyword":
      return typeof value === "string" ? readNumber(value, path) : ok(value)
    case "BooleanKeyword":
      return typeof value === "string" ? readBoolean(value, path) : ok(value)
    case "StringKeyword":
    case "TemplateLiteral":
      if (typeof value === "number" || typeof value === "boolean") {
        const text = String(value)
        return isValid(ast, text) ? ok(text, [{ path, kind: "stringified", raw: text, accepted: text }]) : ok(value)
      }
      return ok(value)
    case "TupleType":
      return Array.isArray(value) ? coerceArray(ast, value, path) : ok(value)
    case "TypeLiteral":
      return isRecord(value) ? coerceObject(ast, value, path) : ok(value)
    case "Suspend":
      return coerce(ast.f(), value, path)
    case "Refinement":
      return coerce(ast.from, value, path)
    case "Transformation":
      return coerce(ast.from, value, path)
    default:
      return ok(value)
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

// ---------------------------------------------------------------------------------------------
// Literals and enums

interface Choice {
  readonly value: AST.LiteralValue
  /** An enum member's name. */
  readonly name?: string | undefined
}

/** The literal values of a literal, an enum, or a union made only of those; else undefined. */
export const choicesOf = (ast: AST.AST): ReadonlyArray<Choice> | undefined => {
  switch (ast._tag) {
    case "Literal":
      return [{ value: ast.literal }]
    case "Enums":
      return ast.enums.map(([name, value]) => ({ value, name }))
    case "Union": {
      const all: Array<Choice> = []
      for (const member of ast.types) {
        const inner = choicesOf(member)
        if (inner === undefined) return undefined
        all.push(...inner)
      }
      return all
    }
    case "Refinement":
      return choicesOf(ast.from)
    default:
      return undefined
  }
}

const quotePairs: ReadonlyArray<readonly [string, string]> = [
  ["\"", "\""],
  ["'", "'"],
  ["`", "`"],
  ["“", "”"],
  ["‘", "’"],
  ["**", "**"],
  ["__", "__"],
  ["*", "*"]
]

/** One reading of a bare value with some wrapping removed, and what was removed to get it. */
interface Stage {
  readonly text: string
  readonly quoted: boolean
  readonly punctuated: boolean
}

/**
 * What models wrap a bare value in, peeled one layer at a time: quotes, backticks, Markdown
 * emphasis, `Literal[...]`, trailing punctuation. The first stage is the trimmed text itself, so
 * a value that really ends in a period (`e.g.`) still matches before the period is dropped.
 */
export const unwrap = (text: string): ReadonlyArray<Stage> => {
  let current: Stage = { text: text.trim(), quoted: false, punctuated: false }
  const stages: Array<Stage> = [current]
  for (let changed = true; changed;) {
    changed = false
    const wrapper = /^(?:Literal|str)\[([\s\S]*)\]$/.exec(current.text)
    if (wrapper !== null) {
      current = { ...current, text: wrapper[1]!.trim(), quoted: true }
      stages.push(current)
      changed = true
    }
    for (const [open, close] of quotePairs) {
      const t = current.text
      if (t.length > open.length + close.length && t.startsWith(open) && t.endsWith(close)) {
        current = { ...current, text: t.slice(open.length, t.length - close.length).trim(), quoted: true }
        stages.push(current)
        changed = true
        break
      }
    }
    const trailing = /[.,;:!?]+$/.exec(current.text)
    if (trailing !== null && trailing.index > 0) {
      current = { ...current, text: current.text.slice(0, trailing.index).trimEnd(), punctuated: true }
      stages.push(current)
      changed = true
    }
  }
  return stages
}

/** The innermost stage: the value with every wrapping removed. */
const bare = (text: string): string => {
  const stages = unwrap(text)
  return stages[stages.length - 1]!.text
}

const nullWords = new Set(["none", "null"])
const trueWords = new Set(["true", "yes"])
const falseWords = new Set(["false", "no"])

const listChoices = (choices: ReadonlyArray<Choice>): string => choices.map((c) => show(c.value)).join(", ")

const chooseLiteral = (choices: ReadonlyArray<Choice>, value: unknown, path: Path): Result => {
  if (typeof value === "number" || typeof value === "boolean") {
    const text = String(value)
    const match = choices.find((c) => c.value === text)
    return match === undefined ? ok(value) : ok(text, [{ path, kind: "stringified", raw: text, accepted: text }])
  }
  if (typeof value !== "string") return ok(value)
  const stages = unwrap(value)
  const miss = (accepted: AST.LiteralValue, kind: NearMiss.Kind): Result => ok(accepted, [{ path, kind, raw: value, accepted }])
  const strings = choices.filter((c) => typeof c.value === "string")
  for (const stage of stages) {
    const exact = distinct(strings.filter((c) => c.value === stage.text))
    if (exact.length === 1) {
      return miss(exact[0]!.value, stage.quoted ? "literal-quoted" : stage.punctuated ? "literal-punctuation" : "literal-case")
    }
  }
  for (const stage of stages) {
    const lower = stage.text.toLowerCase()
    const folded = distinct(strings.filter((c) => (c.value as string).toLowerCase() === lower))
    if (folded.length > 1) {
      return fail(`${show(value)} matches more than one of ${listChoices(folded)} when letter case is ignored; write one exactly`)
    }
    if (folded.length === 1) return miss(folded[0]!.value, "literal-case")
  }
  const text = stages[stages.length - 1]!.text
  const lower = text.toLowerCase()
  const numeric = numberPattern.test(text) ? Number(text) : undefined
  const asNumber = choices.find((c) => typeof c.value === "number" && c.value === numeric)
  if (asNumber !== undefined) return miss(asNumber.value, "number-string")
  const asBoolean = trueWords.has(lower) ? true : falseWords.has(lower) ? false : undefined
  const booleanChoice = choices.find((c) => c.value === asBoolean)
  if (booleanChoice !== undefined) return miss(booleanChoice.value, "boolean-word")
  if (nullWords.has(lower) && choices.some((c) => c.value === null)) return miss(null, "null-word")

  const named = distinct(choices.filter((c) => c.name !== undefined && c.name.toLowerCase() === lower))
  if (named.length > 1) return fail(`${show(value)} names more than one of ${listChoices(named)}; write the value exactly`)
  if (named.length === 1) return miss(named[0]!.value, "enum-name")
  return ok(value)
}

const distinct = (choices: ReadonlyArray<Choice>): ReadonlyArray<Choice> => {
  const seen = new Set<AST.LiteralValue>()
  return choices.filter((c) => (seen.has(c.value) ? false : (seen.add(c.value), true)))
}

// ---------------------------------------------------------------------------------------------
// Numbers and booleans

const numberPattern = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/
const numberInText = /[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/g
// What may stand around the one number of `$12`, `0.9 points`, `5 km/h`, `21 °C`.
const currencyPrefix = /^[$€£¥₹]?\s*$/u
const unitSuffix = /^(?:\s*[\p{L}°µ][\p{L}°µ/.\s-]*)?[.,;:!?]*$/u

const readNumber = (value: string, path: Path): Result => {
  const text = bare(value)
  if (numberPattern.test(text)) {
    const n = Number(text)
    return ok(n, [{ path, kind: "number-string", raw: value, accepted: n }])
  }
  const found = [...text.matchAll(numberInText)]
  if (found.length === 0) return ok(value)
  if (found.length > 1) {
    return fail(`${show(value)} holds more than one number (${found.map((m) => m[0]).join(", ")}); write a single number`)
  }
  const match = found[0]!
  const before = text.slice(0, match.index)
  const after = text.slice(match.index + match[0].length)
  if (after.trimStart().startsWith("%")) {
    return fail(`${show(value)} is a percentage, which could mean ${match[0]} or ${Number(match[0]) / 100}; write the number itself`)
  }
  if (!currencyPrefix.test(before) || !unitSuffix.test(after)) return ok(value)
  const n = Number(match[0])
  return ok(n, [{ path, kind: "number-unit", raw: value, accepted: n }])
}

const readBoolean = (value: string, path: Path): Result => {
  const lower = bare(value).toLowerCase()
  const b = trueWords.has(lower) ? true : falseWords.has(lower) ? false : undefined
  return b === undefined ? ok(value) : ok(b, [{ path, kind: "boolean-word", raw: value, accepted: b }])
}

// ---------------------------------------------------------------------------------------------
// Composites

const coerceUnion = (ast: AST.Union, value: unknown, path: Path): Result => {
  const found: Array<{ readonly value: unknown; readonly misses: ReadonlyArray<Miss> }> = []
  let issue: string | undefined
  for (const member of ast.types) {
    const result = coerce(member, value, path)
    if (!result.ok) issue ??= result.issue
    else if (isValid(member, result.value) && !found.some((f) => sameJson(f.value, result.value))) found.push(result)
  }
  if (found.length === 1) return ok(found[0]!.value, found[0]!.misses)
  if (found.length > 1) {
    return fail(`${show(value)} could be read as ${found.map((f) => show(f.value)).join(" or ")}; write the value exactly`)
  }
  return issue === undefined ? ok(value) : fail(issue)
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

const coerceArray = (ast: AST.TupleType, value: ReadonlyArray<unknown>, path: Path): Result => {
  const out: Array<unknown> = []
  const misses: Array<Miss> = []
  for (let i = 0; i < value.length; i++) {
    const elementAst = i < ast.elements.length ? ast.elements[i]!.type : ast.rest.length === 1 ? ast.rest[0]!.type : undefined
    if (elementAst === undefined) return ok(value)
    const result = coerce(elementAst, value[i], [...path, i])
    if (!result.ok) return result
    out.push(result.value)
    misses.push(...result.misses)
  }
  return ok(out, misses)
}

const coerceObject = (ast: AST.TypeLiteral, value: Record<string, unknown>, path: Path): Result => {
  const out: Record<string, unknown> = { ...value }
  const misses: Array<Miss> = []
  const named = new Set<PropertyKey>()
  for (const property of ast.propertySignatures) {
    named.add(property.name)
    if (typeof property.name !== "string" || !(property.name in value)) continue
    const result = coerce(property.type, value[property.name], [...path, property.name])
    if (!result.ok) return result
    out[property.name] = result.value
    misses.push(...result.misses)
  }
  const index = ast.indexSignatures.find((s) => s.parameter._tag === "StringKeyword")
  if (index !== undefined) {
    for (const key of Object.keys(value)) {
      if (named.has(key)) continue
      const result = coerce(index.type, value[key], [...path, key])
      if (!result.ok) return result
      out[key] = result.value
      misses.push(...result.misses)
    }
  }
  return ok(out, misses)
}

// ---------------------------------------------------------------------------------------------
// Text of a JSON value

/**
 * Parses the JSON text of a value; when it is not valid JSON but is one complete array or object
 * (its brackets close), repairs it with `jsonrepair` (single quotes, Python literals, trailing
 * commas, comments, unquoted keys). `undefined` when the text is neither.
 */
export const parseJsonText = (
  text: string
): { readonly _tag: "Json"; readonly value: unknown } | { readonly _tag: "Repaired"; readonly value: unknown } | {
  readonly _tag: "Invalid"
  readonly issue: string | undefined
} => {
  try {
    return { _tag: "Json", value: JSON.parse(text) }
  } catch {
    // try the repair below
  }
  const scanned = scan(text)
  if (scanned._tag === "Invalid") return scanned
  try {
    return { _tag: "Repaired", value: JSON.parse(jsonrepair(scanned.text)) }
  } catch {
    return { _tag: "Invalid", issue: undefined }
  }
}

/**
 * Checks that `text` is one complete array or object before it is repaired: it must open with
 * `[` or `{`, and its brackets (outside strings and comments) must close exactly at its end.
 * This keeps the repair away from text that is not JSON, from cut-off values (which
 * `jsonrepair` would close, accepting a shorter answer) and from several values in a row.
 */
const scan = (
  text: string
): { readonly _tag: "Enclosed"; readonly text: string } | { readonly _tag: "Invalid"; readonly issue: string } => {
  const invalid = (issue: string) => ({ _tag: "Invalid", issue }) as const
  const body = text.trim()
  if (!body.startsWith("[") && !body.startsWith("{")) return invalid("it is not JSON")
  // jsonrepair 3.15 defect: in a single-quoted string, a `"` after an escaped backslash
  // (`'a\\"b'`) is taken as already escaped and left bare, which breaks the output. Escaping
  // that quote (`\\\"`, the same text in Python) avoids it.
  const bareQuotes: Array<number> = []
  let depth = 0
  let quote: string | undefined
  let lastSignificant = ""
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!
    if (quote !== undefined) {
      if (c === "\\") {
        if (quote === "'" && body[i + 1] === "\\" && body[i + 2] === "\"") bareQuotes.push(i + 2)
        i++
      } else if (c === quote && (quote === "\"" || /^\s*(?:[,:\]}]|$)/.test(body.slice(i + 1, i + 8)))) quote = undefined
      continue
    }
    if (c === "/" && body[i + 1] === "/") {
      const end = body.indexOf("\n", i)
      i = end === -1 ? body.length : end
      continue
    }
    if (c === "/" && body[i + 1] === "*") {
      const end = body.indexOf("*/", i + 2)
      i = end === -1 ? body.length : end + 1
      continue
    }
    if (/\s/.test(c)) continue
    if (c === "\"" || (c === "'" && /[[{,:]/.test(lastSignificant))) quote = c
    else if (c === "[" || c === "{") depth++
    else if (c === "]" || c === "}") {
      depth--
      if (depth < 0) return invalid("its brackets do not match")
      if (depth === 0 && body.slice(i + 1).replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, "").trim().length > 0) {
        return invalid("it holds more than one JSON value")
      }
    }
    lastSignificant = c
  }
  if (quote !== undefined || depth > 0) return invalid("it is cut off (a string or bracket never closes)")
  let fixed = body
  for (const at of bareQuotes.reverse()) fixed = `${fixed.slice(0, at)}\\${fixed.slice(at)}`
  return { _tag: "Enclosed", text: fixed }
}
