/**
 * Request validation shared by the three wire formats: a bad request is thrown as `Invalid`
 * inside a parser and caught once per request, which keeps the parsers linear.
 */
import type { JsonSchema } from "../../Script.js"
import { isRecord } from "../json.js"


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


/** A reader of an optional field of one type (absent or null: undefined); another type is a 400. */
const optional = <A>(expected: string, is: (v: unknown) => v is A) =>
(body: Record<string, unknown>, key: string, param = key): A | undefined => {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (!is(v)) invalid(`Invalid type for '${param}': expected ${expected}, but got ${typeName(v)} instead.`, param, "invalid_type")
  return v as A
}

export const optionalString = optional("a string", (v): v is string => typeof v === "string")

export const optionalBoolean = optional("a boolean", (v): v is boolean => typeof v === "boolean")

const integer = optional("an integer", (v): v is number => Number.isInteger(v))

const decimal = optional("a decimal", (v): v is number => typeof v === "number" && Number.isFinite(v))

export const optionalInteger = (body: Record<string, unknown>, key: string, min: number, param = key): number | undefined => {
  const v = integer(body, key, param)
  if (v !== undefined && v < min) {
    invalid(`Invalid '${param}': integer below minimum value. Expected a value >= ${min}, but got ${v} instead.`, param, "integer_below_min_value")
  }
  return v
}

export const optionalNumberIn = (body: Record<string, unknown>, key: string, min: number, max: number): number | undefined => {
  const v = decimal(body, key)
  if (v !== undefined && v > max) {
    invalid(`Invalid '${key}': decimal above maximum value. Expected a value <= ${max}, but got ${v} instead.`, key, "decimal_above_max_value")
  }
  if (v !== undefined && v < min) {
    invalid(`Invalid '${key}': decimal below minimum value. Expected a value >= ${min}, but got ${v} instead.`, key, "decimal_below_min_value")
  }
  return v
}

export const typeName = (v: unknown): string =>
  v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `a ${typeof v}`

/** A tool's parameter schema, defaulting to an empty object schema. */
export const parametersOf = (u: unknown): JsonSchema =>
  isRecord(u) ? u : { type: "object", properties: {} }

