import type { FieldInfo } from "./fieldInfo.js"

/** Writes an encoded field value into prompt text: text fields raw, others as JSON. */
export const formatValue = (field: FieldInfo, value: unknown): string => {
  if (field.kind === "text" && typeof value === "string") {
    // Quote only what the reader would otherwise unwrap or trim, so that text round-trips.
    const ambiguous = (value.startsWith("\"") && value.endsWith("\"") && value.length >= 2) || value.trim() !== value
    return ambiguous ? JSON.stringify(value) : value
  }
  if (value === undefined) return "null"
  return JSON.stringify(value)
}

/**
 * Reads a field value back from prompt text. Text fields are taken raw (a JSON string literal is
 * unwrapped); json fields must be JSON, optionally inside a fenced block.
 */
export const readValue = (
  field: FieldInfo,
  text: string
): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly issue: string } => {
  const trimmed = text.trim()
  if (field.kind === "text") {
    if (trimmed.length >= 2 && trimmed.startsWith("\"") && trimmed.endsWith("\"")) {
      try {
        const parsed: unknown = JSON.parse(trimmed)
        if (typeof parsed === "string") return { ok: true, value: parsed }
      } catch {
        // not a JSON string literal: keep the raw text
      }
    }
    return { ok: true, value: trimmed }
  }
  const body = unfence(trimmed)
  if (body.length === 0) return { ok: false, issue: `field "${field.name}" is empty; expected JSON` }
  try {
    return { ok: true, value: JSON.parse(body) }
  } catch {
    return { ok: false, issue: `field "${field.name}" is not valid JSON: ${truncate(body, 200)}` }
  }
}

/** Strips one surrounding Markdown code fence, if any. */
export const unfence = (text: string): string => {
  const match = /^```[A-Za-z0-9_-]*\s*\n?([\s\S]*?)\n?```$/.exec(text.trim())
  return match?.[1] !== undefined ? match[1].trim() : text.trim()
}

/** Shortens long text for error messages. */
export const truncate = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`
