import type { FieldInfo } from "./fieldInfo.js"
import { choicesOf, coerce, type Miss, parseJsonText, type Result } from "./lenient.js"

/**
 * JSON as DSPy writes it into prompts (Python's `json.dumps`): `", "` between items and `": "`
 * after keys, non-ASCII text as is.
 */
export const spacedJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map((v) => spacedJson(v === undefined ? null : v)).join(", ")}]`
  if (typeof value === "object" && value !== null) {
    const parts: Array<string> = []
    for (const [key, v] of Object.entries(value)) {
      if (v !== undefined) parts.push(`${JSON.stringify(key)}: ${spacedJson(v)}`)
    }
    return `{${parts.join(", ")}}`
  }
  return JSON.stringify(value) ?? "null"
}

// A list of text given as an input, as DSPy renders passages: `[1] «…»` per item, a blob with
// line breaks or guillemets set off on its own lines, `N/A` for an empty list.
const blob = (text: string): string =>
  !text.includes("\n") && !text.includes("«") && !text.includes("»")
    ? `«${text}»`
    : `«««\n    ${text.replaceAll("\n", "\n    ")}\n»»»`

const textList = (items: ReadonlyArray<string>): string => {
  if (items.length === 0) return "N/A"
  if (items.length === 1) return blob(items[0]!)
  return items.map((item, i) => `[${i + 1}] ${blob(item)}`).join("\n")
}

const isStringArray = (value: unknown): value is ReadonlyArray<string> =>
  Array.isArray(value) && value.every((v) => typeof v === "string")

// Text is quoted only where the reader would otherwise unwrap, trim or read it as null, so that
// text round-trips.
const needsQuotes = (field: FieldInfo, value: string): boolean =>
  (value.startsWith("\"") && value.endsWith("\"") && value.length >= 2) || value.trim() !== value ||
  (field.nullable && value === "null")

/**
 * Writes an encoded field value into prompt text: text raw, other values as JSON; an input list
 * of text as DSPy's numbered passages (inputs are never read back).
 */
export const formatValue = (field: FieldInfo, value: unknown, role: "input" | "output" = "output"): string => {
  if (field.kind === "text" && typeof value === "string") {
    return needsQuotes(field, value) ? JSON.stringify(value) : value
  }
  if (value === undefined) return "null"
  if (role === "input" && field.textList && isStringArray(value)) return textList(value)
  return spacedJson(value)
}

const empty = (field: FieldInfo): Result =>
  field.nullable
    ? { ok: true, value: null, misses: [{ path: [], kind: "absent-null", raw: "", accepted: null }] }
    : { ok: false, issue: `field "${field.name}" is empty; expected ${field.kind === "json" ? "JSON" : "a value"}` }

const withMiss = (result: Result, miss: Omit<Miss, "accepted">): Result =>
  result.ok ? { ...result, misses: [{ ...miss, accepted: result.value }, ...result.misses] } : result

/**
 * Reads a field value back from prompt text, forgiving the near-misses of its type. Text fields
 * are taken raw (a JSON string literal is unwrapped); other fields are JSON, optionally fenced,
 * repaired when they are one whole array or object, or a bare scalar read leniently.
 */
export const readValue = (field: FieldInfo, text: string): Result => {
  const trimmed = text.trim()
  if (field.kind === "text") {
    if (field.nullable && trimmed === "null") return { ok: true, value: null, misses: [] }
    if (trimmed.length === 0 && field.nullable) return empty(field)
    const unquoted = unquote(trimmed)
    // Quotes are how `formatValue` writes text that would not survive raw; around a literal
    // that needs none, they are the model's (a near-miss the literal reader records).
    const canonical = unquoted === trimmed || choicesOf(field.encoded) === undefined || needsQuotes(field, unquoted)
    return coerce(field.encoded, canonical ? unquoted : trimmed)
  }
  if (trimmed.length === 0) return empty(field)
  const body = unfence(trimmed)
  const fenced = body !== trimmed
  const result = readJson(field, body)
  return fenced ? withMiss(result, { path: [], kind: "fenced", raw: trimmed }) : result
}

const readJson = (field: FieldInfo, body: string): Result => {
  if (body.length === 0) return empty(field)
  const parsed = parseJsonText(body)
  switch (parsed._tag) {
    case "Json":
      return coerce(field.encoded, parsed.value)
    case "Repaired":
      return withMiss(coerce(field.encoded, parsed.value), { path: [], kind: "json-repaired", raw: body })
    case "Invalid":
      if (body.startsWith("[") || body.startsWith("{")) {
        return {
          ok: false,
          issue: `field "${field.name}" is not valid JSON${parsed.issue === undefined ? "" : ` (${parsed.issue})`}: ${truncate(body, 200)}`
        }
      }
      // a bare scalar: `0.9 points`, `True`, `Billing`
      return coerce(field.encoded, body)
  }
}

const unquote = (text: string): string => {
  if (text.length >= 2 && text.startsWith("\"") && text.endsWith("\"")) {
    try {
      const parsed: unknown = JSON.parse(text)
      if (typeof parsed === "string") return parsed
    } catch {
      // not a JSON string literal: keep the raw text
    }
  }
  return text
}

/** Strips one surrounding Markdown code fence, if any. */
export const unfence = (text: string): string => {
  const match = /^```[A-Za-z0-9_-]*[ \t]*\n?([\s\S]*?)\n?```$/.exec(text.trim())
  return match?.[1] !== undefined ? match[1].trim() : text.trim()
}

/** Shortens long text for error messages. */
export const truncate = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`
