import * as Redacted from "effect/Redacted"

/** A JSON value as `JSON.stringify` writes it. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const hasToJson = (u: object): u is { toJSON: () => unknown } =>
  "toJSON" in u && typeof u.toJSON === "function"

/**
 * A value as JSON data, with every string passed through `text` (redaction and masking work on
 * strings, never on serialized JSON, so their output cannot break it). What `JSON.stringify`
 * would write: `toJSON` honoured, `undefined`, functions and symbols left out of objects and
 * `null` in arrays; bigints become strings, `Redacted` values `"<redacted>"`, cycles
 * `"[Circular]"`.
 */
export const toJson = (value: unknown, text: (s: string) => string = (s) => s): Json | undefined => {
  // The objects on the path from the root, for cycles; most values are a level or two deep.
  const seen: Array<object> = []
  const go = (v: unknown): Json | undefined => {
    switch (typeof v) {
      case "string":
        return text(v)
      case "number":
        return Number.isFinite(v) ? v : null
      case "boolean":
        return v
      case "bigint":
        return v.toString()
      case "object": {
        if (v === null) return null
        if (Redacted.isRedacted(v)) return "<redacted>"
        if (seen.includes(v)) return "[Circular]"
        if (hasToJson(v) && !Array.isArray(v)) {
          seen.push(v)
          const out = go(v.toJSON())
          seen.pop()
          return out
        }
        seen.push(v)
        let out: Json
        if (Array.isArray(v)) out = v.map((item: unknown) => go(item) ?? null)
        else {
          const record: Record<string, Json> = {}
          for (const [key, item] of Object.entries(v)) {
            const json = go(item)
            if (json !== undefined) record[key] = json
          }
          out = record
        }
        seen.pop()
        return out
      }
      default:
        return undefined
    }
  }
  return go(value)
}

/** The marker a cut string ends with. */
export const truncatedMarker = (cut: number): string => `…[truncated ${cut} chars]`

const cutStrings = (value: Json, cap: number): Json => {
  if (typeof value === "string") return value.length <= cap ? value : value.slice(0, cap) + truncatedMarker(value.length - cap)
  if (Array.isArray(value)) return value.map((item: Json) => cutStrings(item, cap))
  if (typeof value === "object" && value !== null) {
    const out: Record<string, Json> = {}
    for (const [key, item] of Object.entries(value)) out[key] = cutStrings(item, cap)
    return out
  }
  return value
}

const longestString = (value: Json): number => {
  if (typeof value === "string") return value.length
  if (typeof value === "object" && value !== null) {
    let max = 0
    for (const item of Array.isArray(value) ? value : Object.values(value)) max = Math.max(max, longestString(item))
    return max
  }
  return 0
}

/**
 * JSON text of at most about `maxLength` characters that is still valid JSON: when the whole
 * value is too long, its strings are cut (each to the same, largest length that fits, with a
 * marker saying how much was cut) rather than the serialized text; when even that cannot fit
 * (a structure of thousands of items), a `{ "truncated": ... }` object with the start of the
 * text.
 */
export const stringifyWithin = (value: Json, maxLength: number): string => {
  const whole = JSON.stringify(value)
  if (whole.length <= maxLength) return whole
  // The largest per-string cap whose result fits, by bisection.
  let low = 0
  let high = longestString(value)
  let best: string | undefined = undefined
  while (low <= high) {
    const cap = (low + high) >>> 1
    const text = JSON.stringify(cutStrings(value, cap))
    if (text.length <= maxLength) {
      best = text
      low = cap + 1
    } else high = cap - 1
  }
  if (best !== undefined) return best
  // Escaping can double the quoted text's length (quotes and backslashes).
  const keep = Math.max(0, Math.floor((maxLength - 64) / 2))
  return JSON.stringify({ truncated: `${whole.slice(0, keep)}${truncatedMarker(whole.length - keep)}` })
}

/** JSON for log fields and attribute fallbacks: never throws. */
export const safeJson = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return JSON.stringify(toJson(value)) ?? String(value)
  }
}
