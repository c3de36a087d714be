import * as Redacted from "effect/Redacted"

/**
 * JSON for span attributes and log fields: never throws. Redacted values stay redacted,
 * bigints become strings, cycles become "[Circular]", functions and symbols are dropped.
 */
export const safeJson = (value: unknown): string => {
  const seen = new WeakSet<object>()
  try {
    const text = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === "bigint") return v.toString()
      if (typeof v === "object" && v !== null) {
        if (Redacted.isRedacted(v)) return "<redacted>"
        if (seen.has(v)) return "[Circular]"
        seen.add(v)
      }
      return v
    })
    return text ?? String(value)
  } catch {
    return String(value)
  }
}
