import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Redacted from "effect/Redacted"

/**
 * A JSON-safe, order-independent copy of a value, for hashing: object keys sorted, `undefined`
 * and functions dropped, bytes as base64, URLs and dates as text, and `Redacted` values (secrets)
 * left out entirely, so that a secret can never become part of a key.
 */
export const canonical = (value: unknown): unknown => {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value)
  if (typeof value === "bigint") return value.toString()
  if (typeof value !== "object") return undefined
  if (Redacted.isRedacted(value)) return undefined
  if (value instanceof Uint8Array) return { base64: Encoding.encodeBase64(value) }
  if (value instanceof URL) return value.href
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return value.map((item) => canonical(item) ?? null)
  // A null prototype, so that a `__proto__` key stays a key.
  const out: Record<string, unknown> = Object.create(null)
  for (const key of Object.keys(value).sort()) {
    const v = canonical((value as Record<string, unknown>)[key])
    if (v !== undefined) out[key] = v
  }
  return out
}

/** The canonical JSON text of a value. */
export const canonicalJson = (value: unknown): string => JSON.stringify(canonical(value)) ?? "null"

const hex = (bytes: ArrayBuffer): string => Encoding.encodeHex(new Uint8Array(bytes))

/**
 * The hex SHA-256 of a text, through WebCrypto (Node 20 and browsers alike; core loads no
 * Node module).
 */
export const sha256 = (text: string): Effect.Effect<string> =>
  Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))).pipe(
    Effect.map(hex)
  )
