/**
 * The failures of the in-process model, as an HTTP provider would raise them.
 */
import * as AiError from "@effect/ai/AiError"
import * as Option from "effect/Option"
import type { InBandError } from "../plan/ReplyPlan.js"

const MODULE = "Simulator"

const requestDetails = (method: string) => ({
  method: "POST" as const,
  url: `sim://in-process/${method}`,
  urlParams: [],
  hash: Option.none(),
  headers: {}
})

/** A reply with an error status (429, 5xx, a scripted failure). */
export const responseError = (method: string, status: number, headers: Record<string, string>, description: string) =>
  new AiError.HttpResponseError({
    module: MODULE,
    method,
    reason: "StatusCode",
    request: requestDetails(method),
    response: { status, headers },
    description
  })

/** A connection reset before any reply. */
export const connectionReset = (method: string) =>
  new AiError.HttpRequestError({
    module: MODULE,
    method,
    reason: "Transport",
    request: requestDetails(method),
    description: "Connection reset by peer (simulated)"
  })

/** A response schema without a JSON schema. */
export const noJsonSchema = (method: string, cause: unknown) =>
  new AiError.MalformedInput({
    module: MODULE,
    method,
    description: "The response schema has no JSON schema representation",
    cause
  })

/** A whole reply failing the way an in-band error does (Anthropic's 529 overloaded, or a 500). */
export const inBandError = (method: string, error: InBandError) =>
  responseError(method, error.kind === "overloaded" ? 529 : 500, {}, `${error.message} (simulated)`)
