import type * as OtelApi from "@opentelemetry/api"
import { safeJson } from "./json.js"

type Primitive = string | number | boolean

const isPrimitive = (u: unknown): u is Primitive =>
  typeof u === "string" || typeof u === "number" || typeof u === "boolean"

/**
 * An attribute value as OpenTelemetry stores it, or `undefined` to leave the attribute off:
 * unset options (`temperature: undefined`) are not exported as the string "undefined", arrays
 * of one primitive type stay arrays (`gen_ai.response.finish_reasons`), other values are JSON.
 */
export const toAttributeValue = (value: unknown): OtelApi.AttributeValue | undefined => {
  if (isPrimitive(value)) return value
  if (value === undefined || value === null) return undefined
  if (typeof value === "bigint") return value.toString()
  if (Array.isArray(value) && value.length > 0) {
    const first: unknown = value[0]
    if (isPrimitive(first) && value.every((v: unknown) => typeof v === typeof first)) {
      return value as Array<string> | Array<number> | Array<boolean>
    }
  }
  return safeJson(value)
}
