/**
 * Anthropic's error bodies, by status, and for errors sent inside a stream.
 */
import type { InBandError } from "../../plan/ReplyPlan.js"

const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  529: "overloaded_error"
}

const errorType = (status: number): string => ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error")

/** Anthropic's error body. */
export const errorBody = (status: number, message: string) => ({
  type: "error",
  error: { type: errorType(status), message }
})

/** The body of an error sent inside a stream (`event: error`). */
export const inBandErrorBody = (error: InBandError) => ({
  type: "error",
  error: { type: error.kind === "overloaded" ? "overloaded_error" : "api_error", message: error.message }
})

/** The status the API answers a whole reply with when it fails the way an in-band error does. */
export const inBandErrorStatus = (error: InBandError): number => error.kind === "overloaded" ? 529 : 500
