/**
 * OpenAI `POST /v1/responses`.
 */
import * as OpenAi from "../openai.js"
import type { WireFormat } from "../WireFormat.js"
import { encoder, reply } from "./reply.js"
import { type Echo, parse } from "./request.js"

/** The OpenAI Responses wire format. */
export const format: WireFormat<Echo> = {
  route: "responses",
  parse,
  reply,
  encoder,
  ...OpenAi.errorsAndKeys
}
