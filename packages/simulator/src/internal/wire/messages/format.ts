/**
 * Anthropic `POST /v1/messages`.
 */
import { bearer, type WireFormat } from "../WireFormat.js"
import { errorBody } from "./errors.js"
import { encoder, reply } from "./reply.js"
import { type Echo, parse } from "./request.js"

/** The Anthropic Messages wire format. */
export const format: WireFormat<Echo> = {
  route: "messages",
  parse,
  reply,
  encoder,
  errorBody: (status, message) => errorBody(status, message),
  authorized: (headers, apiKey) => (headers["x-api-key"] ?? bearer(headers)) === apiKey,
  unauthorizedMessage: (headers) =>
    headers["x-api-key"] === undefined && headers["authorization"] === undefined
      ? "x-api-key header is required"
      : "invalid x-api-key"
}
