/**
 * One wire format (chat completions, Responses, Messages): how a request is read from its
 * body and how a reply plan is written down, whole or streamed. The plan is shared; only the
 * encoding differs.
 */
import type { SimRequest } from "../answer/request.js"
import type { Event } from "../plan/events.js"
import type { ReplyPlan } from "../plan/ReplyPlan.js"

/** A request parsed from the wire, with what its reply must echo. */
export interface WireRequest<Echo> {
  readonly request: SimRequest
  readonly stream: boolean
  readonly echo: Echo
}

/** A whole (non-streamed) reply: its status and JSON body. */
export interface WholeReply {
  readonly status: number
  readonly body: unknown
}

/** One wire format. */
export interface WireFormat<Echo> {
  /** Route name used in counters. */
  readonly route: "chat.completions" | "responses" | "messages"
  /** Validates and normalizes a JSON body (throws `Invalid`). */
  readonly parse: (body: unknown, headers: Readonly<Record<string, string | undefined>>) => WireRequest<Echo>
  /** The whole reply of a plan (with an in-band error: the body the API sends then). */
  readonly reply: (req: WireRequest<Echo>, plan: ReplyPlan) => WholeReply
  /** A fresh encoder of one stream: each event of the plan as SSE frames ("" for none). */
  readonly encoder: (req: WireRequest<Echo>, plan: ReplyPlan) => (event: Event) => string
  /** The error body of this API for a status and message. */
  readonly errorBody: (status: number, message: string, param?: string | null, code?: string | null) => unknown
  /** True when the headers carry `apiKey`. */
  readonly authorized: (headers: Readonly<Record<string, string | undefined>>, apiKey: string) => boolean
  /** Message of a 401 (missing or wrong key). */
  readonly unauthorizedMessage: (headers: Readonly<Record<string, string | undefined>>) => string
}

/** The token of an `Authorization: Bearer` header (or the whole header without the scheme). */
export const bearer = (headers: Readonly<Record<string, string | undefined>>): string | undefined => {
  const h = headers["authorization"]
  if (h === undefined) return undefined
  return h.startsWith("Bearer ") ? h.slice(7).trim() : h.trim()
}

