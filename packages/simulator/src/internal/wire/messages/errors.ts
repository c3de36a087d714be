/**
 * Anthropic's error bodies, by status, and for errors sent inside a stream.
 */
import type { InBandError } from "../../plan/ReplyPlan.js"

const errorType = (status: number): string => {
  switch (status) {
    case 400:
      return "invalid_request_error"
    case 401:
      return "authentication_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 413:
      return "request_too_large"
    case 429:
      return "rate_limit_error"
    case 529:
      return "overloaded_error"
    default:
      return status >= 500 ? "api_error" : "invalid_request_error"
  }
}

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
