import type * as OtelApi from "@opentelemetry/api"
import { safeJson } from "./json.js"

type Primitive = string | number | boolean

const isPrimitive = (u: unknown): u is Primitive =>
  typeof u === "string" || typeof u === "number" || typeof u === "boolean"

/**
 * An attribute value as OpenTelemetry stores it, or `undefined` to leave the attribute off:
 * unset options (`temperature: undefined`) are not exported as the string "undefined"; arrays
 * whose items share one primitive type stay arrays, the empty one included
 * (`gen_ai.response.finish_reasons`, `langfuse.trace.tags`); bigints become strings; other
 * values are JSON.
 */
export const toAttributeValue = (value: unknown): OtelApi.AttributeValue | undefined => {
  if (isPrimitive(value)) return value
  if (value === undefined || value === null) return undefined
  if (typeof value === "bigint") return value.toString()
  if (Array.isArray(value)) {
    let type: string | undefined = undefined
    let homogeneous = true
    for (const item of value as ReadonlyArray<unknown>) {
      if (item === null || item === undefined) continue
      if (!isPrimitive(item) || (type !== undefined && typeof item !== type)) {
        homogeneous = false
        break
      }
      type = typeof item
    }
    if (homogeneous) return value as Array<string> | Array<number> | Array<boolean>
  }
  return safeJson(value)
}

/** A record's values as attribute values, unset ones left off. */
export const toAttributes = (record: Readonly<Record<string, unknown>>): OtelApi.Attributes => {
  const out: OtelApi.Attributes = {}
  for (const key in record) {
    const value = toAttributeValue(record[key])
    if (value !== undefined) out[key] = value
  }
  return out
}
