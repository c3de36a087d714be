import * as Redacted from "effect/Redacted"

const replacer = () => {
  const seen = new WeakSet<object>()
  return (_key: string, v: unknown): unknown => {
    if (typeof v === "bigint") return v.toString()
    if (typeof v === "object" && v !== null) {
      if (Redacted.isRedacted(v)) return "<redacted>"
      if (seen.has(v)) return "[Circular]"
      seen.add(v)
    }
    return v
  }
}

/**
 * JSON for span attributes and log fields: never throws. Redacted values stay redacted,
 * bigints become strings, cycles become "[Circular]", functions and symbols are dropped.
 */
export const safeJson = (value: unknown): string => {
  try {
    // Native JSON first (a replacer costs a call per value); Redacted renders itself as
    // "<redacted>" (its toJSON). It throws only on bigints and cycles, which the replacer handles.
    return JSON.stringify(value) ?? String(value)
  } catch {
    try {
      return JSON.stringify(value, replacer()) ?? String(value)
    } catch {
      return String(value)
    }
  }
}
