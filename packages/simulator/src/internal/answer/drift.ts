/**
 * Drift: the near-misses real models write instead of the exact format they were asked for
 * (the families of issue 15), so that adapters meet them offline. A drifting reply takes a few
 * of them, each drawn from the generator it is given (seeded by the request and the seed, so
 * the same request drifts the same way and a re-ask may not):
 *
 * - literals with other case, quotes or trailing punctuation (`Billing`, `'billing'`, `billing.`);
 * - numbers as strings or with a unit (`"0.9"`, `0.9 points`);
 * - booleans as `True` / `False` / `yes` / `no`;
 * - lists and objects written the Python way (`[{'name': 'Ada'}]`, `None`) or with a trailing comma;
 * - the whole reply written as one JSON object under the field-marker format;
 * - a `<think>` block before the reply;
 * - a field marker quoted in the middle of a line of reasoning text.
 */
import type { OutputField } from "../../Script.js"
import type { Rng } from "../rng.js"
import { deref } from "./jsonSchemaInstance.js"
import { thinkBlock } from "./think.js"

/** How a field's value can drift. */
type Kind =
  | { readonly _tag: "Literal"; readonly members: ReadonlyArray<string> }
  | { readonly _tag: "Number" }
  | { readonly _tag: "Boolean" }
  | { readonly _tag: "Text" }
  | { readonly _tag: "Json" }

const kindOf = (field: OutputField): Kind => {
  const schema = deref(field.schema, field.schema)
  const members = Array.isArray(schema["enum"])
    ? schema["enum"]
    : typeof schema["const"] === "string"
    ? [schema["const"]]
    : undefined
  if (members !== undefined && members.every((m): m is string => typeof m === "string")) {
    return { _tag: "Literal", members }
  }
  if (field.isText) return { _tag: "Text" }
  if (schema["type"] === "number" || schema["type"] === "integer") return { _tag: "Number" }
  if (schema["type"] === "boolean") return { _tag: "Boolean" }
  return { _tag: "Json" }
}

const UNITS = ["points", "units", "in total"]

/** A literal with other case, unless another member of its set differs from it only by case. */
const otherCase = (value: string, members: ReadonlyArray<string>): string | undefined => {
  const flipped = value === value.toLowerCase()
    ? value.charAt(0).toUpperCase() + value.slice(1)
    : value.toLowerCase()
  if (flipped === value) return undefined
  const clash = members.some((m) => m !== value && m.toLowerCase() === value.toLowerCase())
  return clash ? undefined : flipped
}

/** Python's `repr` of a JSON value, or undefined when a string holds quotes, backslashes or newlines. */
const pythonRepr = (value: unknown): string | undefined => {
  if (value === null || value === undefined) return "None"
  if (value === true) return "True"
  if (value === false) return "False"
  if (typeof value === "number") return String(value)
  if (typeof value === "string") return /['"\\\n\r]/.test(value) ? undefined : `'${value}'`
  const parts: Array<string> = []
  if (Array.isArray(value)) {
    for (const item of value) {
      const r = pythonRepr(item)
      if (r === undefined) return undefined
      parts.push(r)
    }
    return `[${parts.join(", ")}]`
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const key = pythonRepr(k)
    const r = pythonRepr(v)
    if (key === undefined || r === undefined) return undefined
    parts.push(`${key}: ${r}`)
  }
  return `{${parts.join(", ")}}`
}

/** JSON with a comma after the last member of the outermost list or object. */
const trailingComma = (json: string): string =>
  /^[[{][\s\S]*[^[{\s][\s]*[\]}]$/.test(json) ? `${json.slice(0, -1)},${json.slice(-1)}` : json

/** A JSON value written the Python way or with a trailing comma. */
export const jsonNearMiss = (value: unknown, rng: Rng): string => {
  const json = JSON.stringify(value) ?? "null"
  const python = rng.chance(0.6) ? pythonRepr(value) : undefined
  return python ?? trailingComma(json)
}

/** A field value as a model drifting from the format writes it (`rendered` is the exact rendering). */
const fieldNearMiss = (kind: Kind, value: unknown, rendered: string, rng: Rng): string => {
  switch (kind._tag) {
    case "Literal": {
      if (typeof value !== "string") return rendered
      const cased = otherCase(value, kind.members)
      const choices = [`'${value}'`, `"${value}"`, `${value}.`, ...(cased === undefined ? [] : [cased, cased])]
      return rng.pick(choices)
    }
    case "Number":
      return typeof value === "number" ? (rng.chance(0.5) ? `"${value}"` : `${value} ${rng.pick(UNITS)}`) : rendered
    case "Boolean":
      return typeof value === "boolean"
        ? rng.chance(0.5) ? (value ? "True" : "False") : (value ? "yes" : "no")
        : rendered
    case "Json":
      return value === null ? "None" : jsonNearMiss(value, rng)
    case "Text":
      return rendered
  }
}

/** A marker of another output field, quoted in the middle of a line of the text. */
const quoteMarker = (text: string, other: string): string => {
  const aside = `I will write [[ ## ${other} ## ]] next.`
  const cut = text.indexOf(". ")
  return cut < 0 ? `${text} ${aside}` : `${text.slice(0, cut + 2)}${aside} ${text.slice(cut + 2)}`
}

/** One output field with its exact rendering. */
export interface RenderedField {
  readonly field: OutputField
  readonly value: unknown
  readonly rendered: string
}

/**
 * The field-marker reply of a drifting model: some values near-misses, a marker quoted inside
 * a text value, sometimes the whole reply as one JSON object, sometimes a think block first.
 */
export const fieldMarkers = (fields: ReadonlyArray<RenderedField>, rng: Rng): string => {
  const think = rng.chance(0.25) ? thinkBlock(rng) : ""
  if (rng.chance(0.2)) {
    const object: Record<string, unknown> = {}
    for (const f of fields) object[f.field.name] = f.value
    return think + JSON.stringify(object, null, rng.chance(0.5) ? 2 : undefined)
  }
  const names = fields.map((f) => f.field.name)
  let quoted = false
  let body = ""
  for (const f of fields) {
    const kind = kindOf(f.field)
    let text = rng.chance(0.6) ? fieldNearMiss(kind, f.value, f.rendered, rng) : f.rendered
    if (kind._tag === "Text" && !quoted && names.length > 1 && rng.chance(0.5)) {
      text = quoteMarker(text, rng.pick(names.filter((n) => n !== f.field.name)))
      quoted = true
    }
    body += `[[ ## ${f.field.name} ## ]]\n${text}\n\n`
  }
  return `${think}${body}[[ ## completed ## ]]`
}

/** A JSON reply of a drifting model: Python-style or with a trailing comma, sometimes after a think block. */
export const json = (value: unknown, rng: Rng): string => (rng.chance(0.25) ? thinkBlock(rng) : "") + jsonNearMiss(value, rng)

/** A plain text reply of a drifting model: sometimes after a think block. */
export const text = (reply: string, rng: Rng): string => (rng.chance(0.5) ? thinkBlock(rng) : "") + reply
