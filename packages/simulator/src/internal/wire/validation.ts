/**
 * Request validation shared by the three wire formats: a bad request is thrown as `Invalid`
 * inside a parser and caught once per request, which keeps the parsers linear.
 */
import type { JsonSchema } from "../../Script.js"

/** A request the real API would reject with 400. */
export interface BadRequest {
  readonly message: string
  readonly param: string | null
  readonly code: string | null
}

/** Thrown inside parsers, caught once per request (keeps the parsers linear). */
export class Invalid {
  constructor(readonly bad: BadRequest) {}
}

export const invalid = (message: string, param: string | null = null, code: string | null = null): never => {
  throw new Invalid({ message, param, code })
}

export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

export const optionalString = (body: Record<string, unknown>, key: string, param = key): string | undefined => {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== "string") invalid(`Invalid type for '${param}': expected a string, but got ${typeName(v)} instead.`, param, "invalid_type")
  return v as string
}

export const optionalBoolean = (body: Record<string, unknown>, key: string, param = key): boolean | undefined => {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== "boolean") invalid(`Invalid type for '${param}': expected a boolean, but got ${typeName(v)} instead.`, param, "invalid_type")
  return v as boolean
}

export const optionalInteger = (body: Record<string, unknown>, key: string, min: number, param = key): number | undefined => {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== "number" || !Number.isInteger(v)) {
    invalid(`Invalid type for '${param}': expected an integer, but got ${typeName(v)} instead.`, param, "invalid_type")
  }
  if ((v as number) < min) {
    invalid(`Invalid '${param}': integer below minimum value. Expected a value >= ${min}, but got ${v} instead.`, param, "integer_below_min_value")
  }
  return v as number
}

export const optionalNumberIn = (body: Record<string, unknown>, key: string, min: number, max: number): number | undefined => {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== "number" || !Number.isFinite(v)) {
    invalid(`Invalid type for '${key}': expected a decimal, but got ${typeName(v)} instead.`, key, "invalid_type")
  }
  if ((v as number) > max) {
    invalid(`Invalid '${key}': decimal above maximum value. Expected a value <= ${max}, but got ${v} instead.`, key, "decimal_above_max_value")
  }
  if ((v as number) < min) {
    invalid(`Invalid '${key}': decimal below minimum value. Expected a value >= ${min}, but got ${v} instead.`, key, "decimal_below_min_value")
  }
  return v as number
}

export const typeName = (v: unknown): string =>
  v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `a ${typeof v}`

/** A tool's parameter schema, defaulting to an empty object schema. */
export const parametersOf = (u: unknown): JsonSchema =>
  isRecord(u) ? u : { type: "object", properties: {} }

