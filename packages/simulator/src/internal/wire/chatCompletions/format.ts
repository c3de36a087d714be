/**
 * OpenAI `POST /v1/chat/completions`.
 */
import * as OpenAi from "../openai.js"
import type { WireFormat } from "../WireFormat.js"
import { encoder, reply } from "./reply.js"
import { type Echo, parse } from "./request.js"

/** The OpenAI chat completions wire format. */
export const format: WireFormat<Echo> = {
  route: "chat.completions",
  parse,
  reply,
  encoder,
  ...OpenAi.errorsAndKeys
}
