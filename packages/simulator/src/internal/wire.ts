/**
 * What the three wire formats have in common: request validation helpers,
 * the shape of a parsed request and of a streamed reply (an SSE plan).
 */
import type { JsonSchema } from "../Script.js"
import type { Reply, SimRequest } from "./answer.js"

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

/** A request parsed from the wire, with what its reply must echo. */
export interface WireRequest<Echo> {
  readonly request: SimRequest
  readonly stream: boolean
  readonly echo: Echo
}

/**
 * A streamed reply: frames before the first token, one group of frames per
 * token, and the final frames. Token frames are built on demand so that an
 * open stream holds little more than its answer text.
 */
export interface SsePlan {
  readonly head: string
  /** Number of token steps. */
  readonly count: number
  /** The frames of token step `i` (0 <= i < count). */
  readonly frame: (i: number) => string
  /** The final frames (after the last step). */
  readonly tail: () => string
}

/** Answer-independent facts a reply needs. */
export interface ReplyContext {
  readonly model: string
  /** Unix seconds. */
  readonly created: number
}

/** One wire format. */
export interface Wire<Echo> {
  /** Route name used in counters. */
  readonly route: "chat.completions" | "responses" | "messages"
  /** Validates and normalizes a JSON body (throws `Invalid`). */
  readonly parse: (body: unknown, headers: Readonly<Record<string, string | undefined>>) => WireRequest<Echo>
  readonly render: (req: WireRequest<Echo>, reply: Reply, ctx: ReplyContext) => unknown
  readonly plan: (req: WireRequest<Echo>, reply: Reply, ctx: ReplyContext) => SsePlan
  /** The error body of this API for a status and message. */
  readonly errorBody: (status: number, message: string, param?: string | null, code?: string | null) => unknown
  /** True when the headers carry `apiKey`. */
  readonly authorized: (headers: Readonly<Record<string, string | undefined>>, apiKey: string) => boolean
  /** Message of a 401 (missing or wrong key). */
  readonly unauthorizedMessage: (headers: Readonly<Record<string, string | undefined>>) => string
}

export const bearer = (headers: Readonly<Record<string, string | undefined>>): string | undefined => {
  const h = headers["authorization"]
  if (h === undefined) return undefined
  return h.startsWith("Bearer ") ? h.slice(7).trim() : h.trim()
}

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

/** Stable JSON text of a value; `undefined` becomes `null`. */
export const json = (u: unknown): string => JSON.stringify(u) ?? "null"

/** An SSE frame with an `event:` line. */
export const eventFrame = (type: string, data: string): string => `event: ${type}\ndata: ${data}\n\n`

/** An SSE frame with only a `data:` line. */
export const dataFrame = (data: string): string => `data: ${data}\n\n`
