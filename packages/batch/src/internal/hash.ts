import { createHash } from "node:crypto"

/** JSON with object keys sorted, so that equal values give equal text whatever their key order. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v
    // a null prototype, so that a `__proto__` key stays a key
    const sorted: Record<string, unknown> = Object.create(null)
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k]
    return sorted
  }) ?? "null"

/** A hex SHA-256 of a text. */
export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex")
