/**
 * What the server says when it does not answer: rate limits (with each API's headers), server
 * errors and unreadable bodies, in each API's words.
 */
import type { Resolved } from "../../SimulatorConfig.js"

type Route = "chat.completions" | "responses" | "messages"

/** The headers of a 429: `retry-after`, `retry-after-ms`, and each API's rate-limit headers. */
export const rateLimitHeaders = (route: Route, retryAfterMillis: number, nowMillis: number): Record<string, string> => {
  const seconds = Math.ceil(retryAfterMillis / 1000)
  const common = { "retry-after": String(seconds), "retry-after-ms": String(retryAfterMillis) }
  return route === "messages"
    ? {
      ...common,
      "anthropic-ratelimit-requests-remaining": "0",
      "anthropic-ratelimit-requests-reset": new Date(nowMillis + retryAfterMillis).toISOString()
    }
    : { ...common, "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": `${seconds}s` }
}

export const rateLimitMessage = (
  reason: "fault" | "concurrency" | "rpm",
  options: Resolved,
  retryAfterMillis: number
): string => {
  const wait = `${Math.ceil(retryAfterMillis / 1000)}s`
  switch (reason) {
    case "concurrency":
      return `Too many concurrent requests: limit ${options.limits.maxConcurrent}. Please try again in ${wait}.`
    case "rpm":
      return `Rate limit reached for ${options.model} on requests per min (RPM): Limit ${options.limits.requestsPerMinute}. Please try again in ${wait}.`
    case "fault":
      return `Rate limit reached for ${options.model}. Please try again in ${wait}.`
  }
}

/**
 * The status of an injected server error: 500, or the API's "overloaded" status (OpenAI 503;
 * Anthropic 529, `overloaded_error`: it never answers 503).
 */
export const serverErrorStatus = (route: Route, overloaded: boolean): number =>
  !overloaded ? 500 : route === "messages" ? 529 : 503

export const serverErrorMessage = (route: Route, status: number): string =>
  route === "messages"
    ? status === 529 ? "Overloaded" : "Internal server error"
    : status === 503
    ? "The engine is currently overloaded, please try again later."
    : "The server had an error while processing your request. Sorry about that!"

export const badJsonMessage = (route: Route): string =>
  route === "messages"
    ? "There was an error parsing the body of your request. Please make sure the body is valid JSON."
    : "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
